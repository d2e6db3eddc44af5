"""The PostgreSQL sink plugin against a real PostgreSQL server: with COPY,
simple_map_filter's output lands in the table exactly, row by row, its
fields in typed columns; rows the server refuses (a CHECK constraint) go to
the DLQ alone, with the server's message, and the rest of their batches is
written; `validate` says what the sink guarantees."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
import stores  # noqa: E402

PARTITIONS = 4

PIPELINE = stores.STEPS + """  - kind: sink
    name: rows
    plugin: postgres_sink
    function: postgres
    batch_size: 200
    batch_time_ms: 20
    config:
      table: metrics
      columns: {name: name, project: project_id, n: value.0, source_offset: _offset, doc: _value}
"""

DEPLOYMENT = stores.deployment(source_extra="""          dlq: {topic: metrics-dlq}
""", sinks="""        rows:
          config: {conninfo: "${envvar:PG_CONNINFO}"}
""")

TABLE = """CREATE TABLE metrics (name text NOT NULL CHECK (name NOT LIKE '%reject-me%'),
  project integer, n bigint, source_offset bigint, doc jsonb)"""


def main():
    with h.Env() as env:
        pg = stores.Postgres(env)
        pg.sql(TABLE)
        os.environ["PG_CONNINFO"] = pg.conninfo
        bootstrap = env.start_broker([f"metrics:{PARTITIONS}", "metrics-dlq:1"])
        pipeline, deployment = env.write("p.yaml", PIPELINE), env.write("d.yaml", DEPLOYMENT)
        check = h.run_cli(["validate", "--config", deployment, "--plugins-dir", h.PLUGINS_DIR,
                           pipeline], env=dict(os.environ, BOOTSTRAP_SERVERS=bootstrap))
        assert "sinks rows (postgres_sink/postgres, at-least-once)" in check.stdout, \
            check.stdout + check.stderr

        # Exactly-once by source offsets after a batch step is warned about.
        held = env.write("held.yaml", PIPELINE.replace(
            "  - kind: sink\n", "  - {kind: batch, name: tens, max_count: 10}\n  - kind: sink\n")
            .replace("function: postgres\n", "function: postgres_exactly_once\n"))
        check = h.run_cli(["validate", "--config", deployment, "--plugins-dir", h.PLUGINS_DIR,
                           held], env=dict(os.environ, BOOTSTRAP_SERVERS=bootstrap))
        assert check.returncode == 0 and "sink 'rows' is exactly-once by source offsets, but " \
            "follows 'tens' (a batch)" in check.stderr, check.stdout + check.stderr

        inputs = stores.metric_inputs(3000, reject_every=89)
        h.produce(bootstrap, "metrics", [(b"k%d" % i, v, []) for i, v in enumerate(inputs)])
        host = env.start_host(pipeline, deployment, bootstrap)
        tps = h.partitions("metrics", PARTITIONS)
        h.wait_committed_to_end(bootstrap, "pipeline-in", tps, timeout=120)
        assert env.stop(host) == 0, env.log(host)

        wanted = stores.expected_rows(inputs, refused="reject-me")
        got = [stores.canonical(r) for r in pg.sql("SELECT doc::text FROM metrics")]
        assert sorted(got) == sorted(wanted), stores.diff(got, wanted)
        typed = pg.sql("SELECT count(*) FROM metrics WHERE name = doc->>'name' AND "
                       "project = (doc->>'project_id')::int AND n = (doc->'value'->>0)::bigint")
        assert typed == [str(len(wanted))], typed
        where = {json.loads(r.value)["name"]: r.offset for r in h.read_all(bootstrap, tps)}
        offsets = dict(line.split("|") for line in pg.sql("SELECT name, source_offset FROM metrics"))
        assert all(int(offsets[n]) == where[n] for n in offsets), "source offsets differ"

        dlq = h.read_all(bootstrap, h.partitions("metrics-dlq", 1))
        refused = [json.loads(r.value)["name"] for r in dlq]
        assert len(refused) == sum(1 for v in inputs if b"reject-me" in v), refused
        assert all("reject-me" in name for name in refused), refused
        for r in dlq:
            hdrs = {k: v.decode() for k, v in r.headers}
            assert hdrs["streams.error.kind"] == "sink_rejected", hdrs
            assert "violates check constraint" in hdrs["streams.error.message"], hdrs
        print(f"{len(got)} rows, {len(refused)} refused: ok")


if __name__ == "__main__":
    main()
