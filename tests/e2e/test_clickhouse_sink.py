"""The ClickHouse sink plugin against a real ClickHouse server, in each
format: the output of simple_map_filter lands in the table exactly, row by
row; rows the table cannot take (a value of the wrong type) go to the DLQ
alone, with the reason (JSONEachRow: ClickHouse's message; RowBinary: the
sink's, naming the column), and the rest of their batches is written."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
import stores  # noqa: E402

PARTITIONS = 4

PIPELINE = stores.STEPS + """  - kind: sink
    name: rows
    plugin: clickhouse_sink
    batch_size: 200
    batch_time_ms: 20
    config: {table: metrics, format: FORMAT}
"""

DEPLOYMENT = stores.deployment(source_extra="""          dlq: {topic: metrics-dlq}
""", sinks="""        rows:
          config: {url: "${envvar:CLICKHOUSE_URL}"}
""")

# `total` is computed by the server: RowBinary leaves it out of the INSERT.
TABLE = """CREATE TABLE metrics (org_id UInt32, project_id Int32, name String, type String,
  timestamp UInt32, retention_days UInt16, value Array(Int32), sample_rate Float64,
  total Int64 MATERIALIZED value[1] * 2) ENGINE = MergeTree ORDER BY name"""

COLUMNS = ["org_id", "project_id", "name", "type", "timestamp", "retention_days", "value"]


def inputs():
    """Counters and sets; every 89th counter has sample_rate "fast", which
    ClickHouse cannot read as a Float64."""
    out = []
    for value in stores.metric_inputs(3000):
        record = json.loads(value)
        if record["type"] == "c" and record["value"][0] % 89 == 0:
            record["sample_rate"] = "fast"
        out.append(json.dumps(record).encode())
    return out


def project(row):
    return json.dumps({c: row[c] for c in COLUMNS}, sort_keys=True)


def run(fmt):
    with h.Env() as env:
        ch = stores.ClickHouse(env)
        ch.query(TABLE)
        os.environ["CLICKHOUSE_URL"] = ch.url
        bootstrap = env.start_broker([f"metrics:{PARTITIONS}", "metrics-dlq:1"])
        records = inputs()
        h.produce(bootstrap, "metrics", [(b"k%d" % i, v, []) for i, v in enumerate(records)])
        pipeline, deployment = (env.write("p.yaml", PIPELINE.replace("FORMAT", fmt)),
                                env.write("d.yaml", DEPLOYMENT))
        # Appended rows commute: validate says the sink takes many batches
        # of a partition at once.
        check = h.run_cli(["validate", "--config", deployment, "--plugins-dir", h.PLUGINS_DIR,
                           pipeline], env=dict(os.environ, BOOTSTRAP_SERVERS=bootstrap))
        assert "(clickhouse_sink/clickhouse, at-least-once, 32 batches of a partition out)" \
            in check.stdout, check.stdout + check.stderr
        host = env.start_host(pipeline, deployment, bootstrap)
        tps = h.partitions("metrics", PARTITIONS)
        h.wait_committed_to_end(bootstrap, "pipeline-in", tps, timeout=120)
        assert env.stop(host) == 0, env.log(host)

        kept = [json.loads(r) for r in records if json.loads(r)["type"] == "c"]
        refused = [r for r in kept if "sample_rate" in r]
        wanted = sorted(project(r) for r in kept if "sample_rate" not in r)
        got = sorted(project(r) for r in ch.rows("SELECT * FROM metrics"))
        assert got == wanted, stores.diff(got, wanted)
        totals = ch.query("SELECT count() FROM metrics WHERE total != value[1] * 2")
        assert totals == "0\n", totals

        dlq = h.read_all(bootstrap, h.partitions("metrics-dlq", 1))
        names = sorted(json.loads(r.value)["name"] for r in dlq)
        assert names == sorted(r["name"] for r in refused), names
        for r in dlq:
            hdrs = {k: v.decode() for k, v in r.headers}
            assert hdrs["streams.error.kind"] == "sink_rejected", hdrs
            message = hdrs["streams.error.message"]
            assert "ClickHouse" in message, hdrs
            if fmt == "RowBinary":
                assert 'column sample_rate: expected Float64, got "fast"' in message, hdrs
            else:
                assert "Code: " in message, hdrs
        print(f"{fmt}: {len(got)} rows, {len(dlq)} refused: ok")


def main():
    for fmt in ("JSONEachRow", "RowBinary"):
        run(fmt)


if __name__ == "__main__":
    main()
