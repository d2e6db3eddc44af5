"""The ClickHouse sink (format RowBinary: the table described again after
each failure) under faults (stores.Drill): the host killed with
SIGKILL five times mid-stream, then the server down for 30 s under load.
Every row arrives (at-least-once: a replay may insert rows again), nothing
is committed before its row is stored, memory stays bounded while the
server is down, /readyz names the sink."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
import stores  # noqa: E402

PIPELINE = stores.STEPS + """  - {kind: sink, name: rows, plugin: clickhouse_sink, batch_size: 200, batch_time_ms: 50,
     retry_backoff_ms: 50, retry_backoff_max_ms: 500,
     config: {table: metrics, format: RowBinary}}
"""

DEPLOYMENT = stores.deployment(source_extra="""          commit_interval_ms: 200
""", sinks="""        rows:
          max_in_flight_messages: 2000
          config: {url: "${envvar:CLICKHOUSE_URL}", timeout_ms: 3000}
""")


class Table:
    def __init__(self, ch):
        self.ch = ch

    def rows(self):
        return [json.dumps(r) for r in self.ch.rows("SELECT value FROM metrics")]

    def stop(self):
        self.ch.stop()

    def start(self):
        self.ch.start()


def main():
    with h.Env() as env:
        ch = stores.ClickHouse(env)
        ch.query("CREATE TABLE metrics (name String, value Array(Int32)) "
                 "ENGINE = MergeTree ORDER BY name")
        os.environ["CLICKHOUSE_URL"] = ch.url
        drill = stores.Drill(env, Table(ch), env.write("p.yaml", PIPELINE),
                             env.write("d.yaml", DEPLOYMENT), "metrics", 4, bound=32 << 20,
                             sinks=["rows"])
        drill.run()
        print("ok")


if __name__ == "__main__":
    main()
