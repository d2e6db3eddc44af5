"""The PostgreSQL sink under faults (stores.Drill), through a broadcast to
its exactly-once and upsert functions: the host killed with SIGKILL five
times mid-stream, then the server down for 30 s under load. Every row
arrives in both tables, neither has a duplicate row, nothing is committed
before its row is stored, memory stays bounded while the server is down."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
import stores  # noqa: E402

PIPELINE = stores.STEPS + """  - kind: broadcast
    name: both
    branches:
      exact:
        - kind: sink
          name: exact
          plugin: postgres_sink
          function: postgres_exactly_once
          batch_size: 100
          batch_time_ms: 50
          retry_backoff_max_ms: 500
          config: {table: exact_rows, columns: {name: name, doc: _value}}
      upsert:
        - kind: sink
          name: upsert
          plugin: postgres_sink
          function: postgres_upsert
          batch_size: 100
          batch_time_ms: 50
          retry_backoff_max_ms: 500
          config: {table: upsert_rows, columns: {name: name, doc: _value}, key: [name]}
"""

DEPLOYMENT = stores.deployment(source_extra="""          commit_interval_ms: 200
""", sinks="""        exact:
          max_in_flight_messages: 2000
          config: {conninfo: "${envvar:PG_CONNINFO}"}
        upsert:
          max_in_flight_messages: 2000
          config: {conninfo: "${envvar:PG_CONNINFO}"}
""")


class Tables:
    """The store the drill sees: the exactly-once table (the upsert one is
    checked after)."""

    def __init__(self, pg):
        self.pg = pg

    def rows(self):
        return [stores.canonical(r) for r in self.pg.sql("SELECT doc::text FROM exact_rows")]

    def stop(self):
        self.pg.stop()

    def start(self):
        self.pg.start()


def main():
    with h.Env() as env:
        pg = stores.Postgres(env)
        pg.sql("CREATE TABLE exact_rows (name text NOT NULL, doc jsonb)")
        pg.sql("CREATE TABLE upsert_rows (name text PRIMARY KEY, doc jsonb)")
        os.environ["PG_CONNINFO"] = pg.conninfo
        drill = stores.Drill(env, Tables(pg), env.write("p.yaml", PIPELINE),
                             env.write("d.yaml", DEPLOYMENT), "metrics", 4, bound=32 << 20,
                             sinks=["exact", "upsert"])
        total = drill.run()
        for table in ("exact_rows", "upsert_rows"):
            counts = pg.sql(f"SELECT count(*), count(DISTINCT name) FROM {table}")
            assert counts == [f"{total}|{total}"], (table, counts, total)
        positions = pg.sql("SELECT count(*) FROM streams_sink_offsets WHERE pipeline = 'exact_rows'")
        assert positions == ["4"], positions
        print("ok: no duplicates in either table")


if __name__ == "__main__":
    main()
