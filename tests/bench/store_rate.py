"""Sinks to data stores against their ceilings, in one run:

- PostgreSQL: the host reading IngestMetric records from the dev broker
  and writing them with postgres_sink (COPY, 8 columns from the JSON), rows/s
  over the last N rows (--records), after the first W (--warmup) were
  written by the same host and connection; the host's counter tells when
  (so that measuring costs the server nothing). The ceiling is psql's \\copy
  of the same W + N rows (the table dumped to a file after the host's run,
  the table emptied, the file copied in), timed whole.
- ClickHouse: the same with clickhouse_sink, once with format JSONEachRow
  (the server parses the JSON) and once with RowBinary (the sink does); the
  ceiling is clickhouse-client inserting the same rows from a JSONEachRow
  file (the client parses, sending the server its native format).
- The host reading the same rows into devnull: how fast the dev broker
  hands this machine's host the rows at all, the bound of every sink run.

Why a warm-up: a long-running host writes through connections that have
been writing for a while; a fresh one costs the server more. A new
PostgreSQL backend faults in each page of the shared buffers the first time
it touches one, and every COPY takes a fresh ring of buffers from the clock
sweep, so the host's backend touches all of shared_buffers (128 MB) once in
its first ~600,000 rows, where psql's single COPY reuses one 16 MB ring. On a
VM where page faults are dear that was a fifth of the server's CPU a row
(README, Benchmarks). The host's first batches are the first use of its own
pooled buffers too. The table also shows each host run from its first row
(cold: a fresh host and connection), --warmup 0 times that alone.

The servers run on the tools' core with the broker; the host, psql and
clickhouse-client on the application's. Usage (packaging/bench.sh runs it):

  python3 tests/bench/store_rate.py BUILD OUT [--records N] [--warmup W]
      [--repeats K] [--smoke]

(one partition per 12,500 rows of W + N, at least 16; W is 600,000 by default,
about 128 MB of rows, the server's shared_buffers).

Writes OUT/stores.json and prints a table; the median of K runs each.
"""
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request

BUILD = os.path.abspath(sys.argv[1])
OUT = os.path.abspath(sys.argv[2])
RECORDS = int(sys.argv[sys.argv.index("--records") + 1]) if "--records" in sys.argv else 200_000
REPEATS = int(sys.argv[sys.argv.index("--repeats") + 1]) if "--repeats" in sys.argv else 3
# About 128 MB of these rows: PostgreSQL's shared_buffers, which a fresh backend faults in.
WARMUP = int(sys.argv[sys.argv.index("--warmup") + 1]) if "--warmup" in sys.argv else 600_000
TOTAL = WARMUP + RECORDS  # rows in each topic
# A check that the benchmark runs (every store, ceiling and table), not of
# its figures: a run too quick to time reads 0 rows/s instead of failing.
SMOKE = "--smoke" in sys.argv
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_env  # noqa: E402

bench_env.use_build(BUILD)
import harness as h  # noqa: E402
import stores  # noqa: E402

BENCH = os.path.join(BUILD, "tests", "bench", "streams-bench")
APP_CPU = ["taskset", "-c", "1"]
TOOLS_CPU = ["taskset", "-c", "0"]
# The dev broker keeps about 5 MiB a partition: 16 hold 200,000 rows.
PARTITIONS = max(16, -(-TOTAL // 12_500))

COLUMNS = ["org_id", "project_id", "name", "type", "timestamp", "retention_days", "value",
           "tags"]
PG_TABLE = """CREATE TABLE metrics (org_id bigint, project_id integer, name text, type text,
  timestamp bigint, retention_days integer, value jsonb, tags jsonb)
  WITH (autovacuum_enabled = off)"""
CH_TABLE = """CREATE TABLE metrics (org_id UInt32, project_id Int32, name String, type String,
  timestamp UInt32, retention_days UInt16, value Array(Float64)) ENGINE = MergeTree
  ORDER BY (project_id, timestamp)"""

PIPELINE = """source: {name: in, stream_name: %(topic)s}
steps:
  - kind: sink
    name: rows
    plugin: %(plugin)s
    function: %(function)s
    batch_size: 10000
    batch_bytes: 4194304
    batch_time_ms: 100
    config: %(config)s
"""
READ_PIPELINE = """source: {name: in, stream_name: %(topic)s}
steps:
  - {kind: sink, name: rows, type: devnull}
"""
DEPLOYMENT = """pipeline:
  segments:
    - steps_config:
        in:
          bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]
          consumer_group: %(group)s
          auto_offset_reset: earliest
          override_params: {session.timeout.ms: "6000"}
"""


def timed(args, **kwargs):
    start = time.monotonic()
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, (args, result.stderr)
    return time.monotonic() - start


def counted(port, metric):
    """The host's counter streams_METRIC, summed over its labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        text = r.read().decode()
    return int(sum(float(m) for m in re.findall(rf"^streams_{metric}\{{[^}}]*\}} (\S+)$",
                                                text, re.M)))


def sink_rows(port):
    """The rows the host's sink reported written (sink_rows_total): counted
    by the host, so that measuring asks nothing of the store's server."""
    return counted(port, "sink_rows_total")


def host_rate(env, bootstrap, topic, plugin, function, config, count_rows, group=None):
    """The host writing the topic's TOTAL rows through `plugin`: timed_host's
    rates. The table is counted once, at the end: a count every 50 ms cost
    the server a connection and a scan each time, CPU the ceiling's run did
    not pay."""
    pipeline = env.write(f"p-{plugin}-{topic}.yaml", PIPELINE % {
        "topic": topic, "plugin": plugin, "function": function, "config": json.dumps(config)})
    rates = timed_host(env, bootstrap, pipeline, group or plugin, topic, sink_rows)
    assert count_rows() == TOTAL, f"the table does not hold the {TOTAL} rows"
    return rates


def read_rate(env, bootstrap, topic):
    """The host reading the same rows into devnull (inputs counted as the
    host takes them): what no sink run on this machine can exceed."""
    pipeline = env.write(f"p-read-{topic}.yaml", READ_PIPELINE % {"topic": topic})
    return timed_host(env, bootstrap, pipeline, "read", topic,
                      lambda port: counted(port, "consumed_total"))


def timed_host(env, bootstrap, pipeline, group, topic, rows):
    """Runs the host on `pipeline` until rows(port) reaches TOTAL. Returns
    {"host": rows/s over the rows after WARMUP (from the first look that
    saw at least WARMUP), "cold": rows/s from the first rows seen} (the
    host's start and group join left out of both)."""
    deployment = env.write(f"d-{group}.yaml", DEPLOYMENT % {"group": group})
    host = env.start_host(pipeline, deployment, bootstrap, name=f"host-{group}-{topic}",
                          extra=["--admin-port", "0"], prefix=APP_CPU)
    try:
        port = h.admin_port(env, host)
        first = h.wait_for(lambda: rows(port) or host.poll() is not None, 120, "the first rows")
        assert host.poll() is None, env.log(host)
        start = time.monotonic()
        warm_at, warm = wait_rows(lambda: rows(port), first, start, max(WARMUP, first))
        end, _ = wait_rows(lambda: rows(port), first, start, TOTAL)
    finally:
        env.stop(host)
    if first >= TOTAL or end <= start:
        assert SMOKE, "every row came in the first look: use more --records"
        return {"host": 0.0, "cold": 0.0}
    if warm >= TOTAL:
        assert SMOKE, "every row came before the warm-up's end was seen: use more --records"
        warm_at, warm = start, first
    return {"host": (TOTAL - warm) / (end - warm_at), "cold": (TOTAL - first) / (end - start)}


def wait_rows(rows, first, start, target):
    """Polls rows() until it reaches `target`; returns (the time it saw it,
    the value it saw). Each poll renders the host's /metrics on the host's
    core, which the ceilings' runs do not pay: between polls it sleeps a
    third of the time the rate so far leaves, so that only the last ~100 ms
    before the target are polled every 20 ms (a rate that more than triples
    could make the target seen late: for the end, against the host, never
    early). Fails when the count stalls for 60 s."""
    best, moved = first, start
    while True:
        now = time.monotonic()
        value = rows()
        if value >= target:
            return time.monotonic(), value
        if value > best:
            best, moved = value, now
        assert now - moved < 60, f"no progress for 60 s: {value} of {target} rows"
        rate = (value - first) / (now - start) if value > first else 0
        time.sleep(0.02)
        if rate > 0:
            time.sleep(max(0.0, min(1.0, (target - value) / rate / 3 - 0.05)))


def settle(pg):
    """Empties the table and starts the next run from a clean server: a
    checkpoint now, and the dirty pages written to the disk, rather than in
    the middle of whichever run came next (the last run's 200 MB of WAL and
    pages would land, at random, on the host's run or on psql's). The
    table's autovacuum is off for the same reason (PG_TABLE): a vacuum of
    the last run's rows would too."""
    pg.sql("TRUNCATE metrics")
    pg.sql("CHECKPOINT")
    os.sync()


def postgres(env, bootstrap, topics):
    pg = stores.Postgres(env, prefix=TOOLS_CPU)
    pg.sql(PG_TABLE)
    config = {"conninfo": pg.conninfo, "table": "metrics", "columns": COLUMNS}
    dump = env.path("metrics.tsv")
    runs = []
    for topic in topics:
        settle(pg)
        rates = host_rate(env, bootstrap, topic, "postgres_sink", "postgres", config,
                          lambda: int(pg.sql("SELECT count(*) FROM metrics")[0]))
        with open(dump, "w") as f:  # psql's \copy: the client writes the file
            subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "streams",
                            "-d", "postgres", "-c", "\\copy metrics TO STDOUT"], stdout=f,
                           check=True)
        settle(pg)
        seconds = timed([*APP_CPU, "psql", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "streams",
                         "-d", "postgres", "-c", f"\\copy metrics FROM '{dump}'"])
        assert pg.sql("SELECT count(*) FROM metrics") == [str(TOTAL)]
        runs.append(dict(rates, ceiling=TOTAL / seconds))
    return runs


def clickhouse(env, bootstrap, topics):
    ch = stores.ClickHouse(env, prefix=TOOLS_CPU)
    ch.query(CH_TABLE)
    config = {"url": ch.url, "table": "metrics"}
    dump = env.path("metrics.ndjson")
    runs, binary_runs = [], []
    for topic in topics:
        ch.query("TRUNCATE TABLE metrics")
        binary = host_rate(env, bootstrap, topic, "clickhouse_sink", "clickhouse",
                           dict(config, format="RowBinary"),
                           lambda: int(ch.query("SELECT count() FROM metrics")),
                           group="clickhouse_rowbinary")
        ch.query("TRUNCATE TABLE metrics")
        host = host_rate(env, bootstrap, topic, "clickhouse_sink", "clickhouse", config,
                         lambda: int(ch.query("SELECT count() FROM metrics")))
        with open(dump, "w") as f:
            f.write(ch.query("SELECT * FROM metrics FORMAT JSONEachRow"))
        ch.query("TRUNCATE TABLE metrics")
        with open(dump) as f:
            seconds = timed([*APP_CPU, "clickhouse-client", "--port", str(ch.tcp), "--query",
                             "INSERT INTO metrics FORMAT JSONEachRow"], stdin=f)
        assert ch.query("SELECT count() FROM metrics").strip() == str(TOTAL)
        runs.append(dict(host, ceiling=TOTAL / seconds))
        binary_runs.append(dict(binary, ceiling=TOTAL / seconds))
    return runs, binary_runs


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    os.makedirs(OUT, exist_ok=True)
    results = {}
    with h.Env() as env:
        topics = [f"rows-{run}" for run in range(REPEATS)]
        bootstrap = env.start_broker([f"{t}:{PARTITIONS}" for t in topics], prefix=TOOLS_CPU)
        for topic in topics:
            subprocess.run([*TOOLS_CPU, BENCH, "produce", "--bootstrap", bootstrap, "--topic",
                            topic, "--count", str(TOTAL), "--json"], check=True,
                           capture_output=True)
        # Each store reads the same topics with a consumer group of its own.
        reads = [read_rate(env, bootstrap, topic) for topic in topics]
        results["postgres"] = postgres(env, bootstrap, topics)
        results["clickhouse"], results["clickhouse RowBinary"] = clickhouse(env, bootstrap,
                                                                            topics)
    lines = [f"Sinks to data stores: {TOTAL:,} IngestMetric rows in {PARTITIONS} partitions, the "
             f"host timed over the last {RECORDS:,} (after a warm-up of {WARMUP:,}), median of "
             f"{REPEATS} runs; the machine: {bench_env.machine()}", "",
             "| store | host rows/s | ceiling rows/s | host / ceiling | host cold rows/s | "
             "cold / ceiling |", "|---|---|---|---|---|---|"]
    ceilings = {"postgres": "psql \\copy", "clickhouse": "clickhouse-client",
                "clickhouse RowBinary": "clickhouse-client"}
    for store, runs in results.items():
        host, cold, ceiling = median(runs, "host"), median(runs, "cold"), median(runs, "ceiling")
        lines.append(f"| {store} (ceiling: {ceilings[store]}) | {host:,.0f} | {ceiling:,.0f} | "
                     f"{host / ceiling:.0%} | {cold:,.0f} | {cold / ceiling:.0%} |")
        results[store] = {"runs": runs, "host": host, "cold": cold, "ceiling": ceiling,
                          "ratio": host / ceiling, "cold ratio": cold / ceiling}
    read = median(reads, "host")
    lines += ["", f"The host reading the same rows into devnull: {read:,.0f} rows/s (median), "
              "what no sink run here can exceed: "
              + ", ".join(f"{read / results[s]['ceiling']:.0%} of {ceilings[s]}'s ceiling"
                          for s in ("postgres", "clickhouse"))]
    results["read into devnull"] = {"runs": reads, "host": read}
    results["setup"] = {"records": RECORDS, "warmup": WARMUP, "partitions": PARTITIONS,
                        "machine": bench_env.machine()}
    print("\n".join(lines))
    with open(os.path.join(OUT, "stores.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
