"""The ClickHouse sink plugin against a real ClickHouse server: the output
of simple_map_filter lands in the table exactly, row by row; rows the server
cannot read (a value of the wrong type) go to the DLQ alone, with
ClickHouse's message, and the rest of their batches is written."""
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
    config: {table: metrics}
"""

DEPLOYMENT = stores.deployment(source_extra="""          dlq: {topic: metrics-dlq}
""", sinks="""        rows:
          config: {url: "${envvar:CLICKHOUSE_URL}"}
""")

TABLE = """CREATE TABLE metrics (org_id UInt32, project_id Int32, name String, type String,
  timestamp UInt32, retention_days UInt16, value Array(Int32), sample_rate Float64) ENGINE = MergeTree ORDER BY name"""

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


def main():
    with h.Env() as env:
        ch = stores.ClickHouse(env)
        ch.query(TABLE)
        os.environ["CLICKHOUSE_URL"] = ch.url
        bootstrap = env.start_broker([f"metrics:{PARTITIONS}", "metrics-dlq:1"])
        records = inputs()
        h.produce(bootstrap, "metrics", [(b"k%d" % i, v, []) for i, v in enumerate(records)])
        host = env.start_host(env.write("p.yaml", PIPELINE), env.write("d.yaml", DEPLOYMENT),
                              bootstrap)
        tps = h.partitions("metrics", PARTITIONS)
        h.wait_committed_to_end(bootstrap, "pipeline-in", tps, timeout=120)
        assert env.stop(host) == 0, env.log(host)

        kept = [json.loads(r) for r in records if json.loads(r)["type"] == "c"]
        refused = [r for r in kept if "sample_rate" in r]
        wanted = sorted(project(r) for r in kept if "sample_rate" not in r)
        got = sorted(project(r) for r in ch.rows("SELECT * FROM metrics"))
        assert got == wanted, stores.diff(got, wanted)

        dlq = h.read_all(bootstrap, h.partitions("metrics-dlq", 1))
        names = sorted(json.loads(r.value)["name"] for r in dlq)
        assert names == sorted(r["name"] for r in refused), names
        for r in dlq:
            hdrs = {k: v.decode() for k, v in r.headers}
            assert hdrs["streams.error.kind"] == "sink_rejected", hdrs
            assert "ClickHouse" in hdrs["streams.error.message"], hdrs
            assert "Code: " in hdrs["streams.error.message"], hdrs
        print(f"{len(got)} rows, {len(dlq)} refused: ok")


if __name__ == "__main__":
    main()
