"""Where the CPU goes while the host writes into ClickHouse or PostgreSQL,
as store_rate.py runs it (the same pipeline, deployment and cores: the host
on core 1, the dev broker and the server on core 0). Over the middle of each
run (from a sixth of the rows written to three quarters) it reads each
core's busy share (/proc/stat), the CPU a row of the host, the dev broker
and the server (/proc; PostgreSQL's with its backends), and ClickHouse's
INSERTs and the rows its merges rewrote (system.events): which core sets
the pace, and on what. With PostgreSQL it reads psql's \\copy of the same rows
too (the ceiling) over its whole run, once as one COPY and once for each
N of --copies as N COPYs of a share each, one after another in one session:
what a stream of COPYs costs the server against one.

  python3 tests/bench/store_cpu.py BUILD OUT [--records N] [--rounds K]
      [--formats JSONEachRow,RowBinary] [--store clickhouse|postgres]
      [--copies 1,30]

Writes OUT/store-cpu-STORE.json and prints a line a measurement.
"""
import json
import os
import resource
import subprocess
import sys
import time

BUILD = os.path.abspath(sys.argv[1])
OUT = os.path.abspath(sys.argv[2])

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_env  # noqa: E402
from bench_env import arg  # noqa: E402

RECORDS = int(arg("--records", "1200000"))
ROUNDS = int(arg("--rounds", "2"))
STORE = arg("--store", "clickhouse")
COPIES = [int(n) for n in arg("--copies", "1").split(",")]
FORMATS = arg("--formats", "JSONEachRow,RowBinary").split(",") if STORE == "clickhouse" else ["COPY"]
bench_env.use_build(BUILD)
import harness as h  # noqa: E402
import stores  # noqa: E402

import store_rate as sr  # noqa: E402  (its pipeline, deployment, table and cores)

PARTITIONS = max(16, -(-RECORDS // 12_500))


def cores():
    """Per core: (busy, total) jiffies so far."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                ticks = [int(x) for x in line.split()[1:8]]
                out[line.split()[0]] = (sum(ticks) - ticks[3], sum(ticks))
    return out


def with_children(pid):
    """CPU seconds of `pid`, its children that exited, and its live ones
    (PostgreSQL's backends)."""
    total = stores.cpu_seconds(pid)
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    total += (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    total += stores.cpu_seconds(int(entry))
        except (OSError, ValueError):
            pass  # gone meanwhile
    return total


def switches(pid):
    """Context switches so far of `pid` and its live children (the server
    and its backends): how often the server stopped, to wait or be
    preempted."""
    total = 0
    for entry in [str(pid)] + [e for e in os.listdir("/proc") if e.isdigit()]:
        try:
            with open(f"/proc/{entry}/stat") as f:
                if entry != str(pid) and int(f.read().rsplit(")", 1)[1].split()[1]) != pid:
                    continue
            with open(f"/proc/{entry}/status") as f:
                total += sum(int(line.split()[1]) for line in f if "ctxt_switches" in line)
        except (OSError, ValueError):
            pass
    return total


def processes(pids):
    return {name: with_children(pid) if name == "server" else stores.cpu_seconds(pid)
            for name, pid in pids.items()}


def events(ch):
    """ClickHouse: its INSERTs and the rows its merges rewrote so far.
    PostgreSQL: its transactions committed (each COPY of the sink's is one;
    the statistics lag a little)."""
    if not isinstance(ch, stores.ClickHouse):
        commits = ch.sql("SELECT xact_commit FROM pg_stat_database WHERE datname = 'postgres'")
        return int(commits[0]), 0
    rows = ch.query("SELECT event, value FROM system.events WHERE event IN "
                    "('InsertQuery', 'MergedRows') FORMAT TSV")
    got = dict(line.split("\t") for line in rows.splitlines())
    return int(got.get("InsertQuery", 0)), int(got.get("MergedRows", 0))


def measure(env, ch, bootstrap, broker, topic, fmt, group):
    if fmt == "COPY":
        sink = {"plugin": "postgres_sink", "function": "postgres", "config": json.dumps(
            {"conninfo": ch.conninfo, "table": "metrics", "columns": sr.COLUMNS})}
    else:
        sink = {"plugin": "clickhouse_sink", "function": "clickhouse", "config": json.dumps(
            {"url": ch.url, "table": "metrics", "format": fmt})}
    pipeline = env.write(f"p-{group}.yaml", sr.PIPELINE % dict(sink, topic=topic))
    deployment = env.write(f"d-{group}.yaml", sr.DEPLOYMENT % {"group": group})
    host = env.start_host(pipeline, deployment, bootstrap, name=f"host-{group}",
                          extra=["--admin-port", "0"], prefix=sr.APP_CPU)
    try:
        port = h.admin_port(env, host)
        pids = {"host": host.pid, "dev broker": broker, "server": ch.proc.pid}
        h.wait_for(lambda: sr.sink_rows(port) >= RECORDS // 6, 120, "a sixth of the rows")
        rows0, c0, p0, e0, t0 = (sr.sink_rows(port), cores(), processes(pids), events(ch),
                                 time.monotonic())
        w0 = switches(ch.proc.pid)
        h.wait_for(lambda: sr.sink_rows(port) >= RECORDS * 3 // 4, 120, "three quarters")
        rows1, c1, p1, e1, t1 = (sr.sink_rows(port), cores(), processes(pids), events(ch),
                                 time.monotonic())
        w1 = switches(ch.proc.pid)
        h.wait_for(lambda: sr.sink_rows(port) >= RECORDS, 120, "every row")
    finally:
        env.stop(host)
    rows = rows1 - rows0
    return {
        "rows/s": rows / (t1 - t0),
        "core busy": {c: (c1[c][0] - c0[c][0]) / max(1, c1[c][1] - c0[c][1]) for c in c1},
        "cpu us a row": {n: (p1[n] - p0[n]) / rows * 1e6 for n in pids},
        "rows an insert": rows / max(1, e1[0] - e0[0]),
        "merged rows a row": (e1[1] - e0[1]) / rows,
        "server switches a 1000 rows": (w1 - w0) / rows * 1000,
    }


def psql_ceiling(env, pg, copies):
    """The same rows through psql's \\copy (store_rate.py's ceiling) in
    `copies` COPYs, read over the whole run: rows/s, each core's busy share,
    the CPU a row of the server (with its backends) and of psql."""
    dump = env.path("metrics.tsv")
    psql = ["psql", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "streams", "-d", "postgres"]
    with open(dump, "w") as f:
        subprocess.run([*psql, "-c", "\\copy metrics TO STDOUT"], stdout=f, check=True)
    with open(dump) as f:
        rows = f.readlines()
    share = -(-len(rows) // copies)
    commands = []
    for i in range(copies):
        with open(env.path(f"metrics-{i}.tsv"), "w") as f:
            f.writelines(rows[i * share:(i + 1) * share])
        commands += ["-c", f"\\copy metrics FROM '{env.path(f'metrics-{i}.tsv')}'"]
    sr.settle(pg)
    c0, s0, u0, t0 = (cores(), with_children(pg.proc.pid),
                      resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic())
    w0 = switches(pg.proc.pid)
    subprocess.run([*sr.APP_CPU, *psql, *commands], check=True, capture_output=True)
    c1, s1, u1, t1 = (cores(), with_children(pg.proc.pid),
                      resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic())
    w1 = switches(pg.proc.pid)
    client = (u1.ru_utime + u1.ru_stime) - (u0.ru_utime + u0.ru_stime)
    return {
        "rows/s": RECORDS / (t1 - t0),
        "core busy": {c: (c1[c][0] - c0[c][0]) / max(1, c1[c][1] - c0[c][1]) for c in c1},
        "cpu us a row": {"server": (s1 - s0) / RECORDS * 1e6, "psql": client / RECORDS * 1e6},
        "server switches a 1000 rows": (w1 - w0) / RECORDS * 1000,
    }


def line(name, m):
    return (f"{name}: {m['rows/s']:,.0f} rows/s; busy "
            + ", ".join(f"{c} {b:.0%}" for c, b in m["core busy"].items())
            + "; CPU us a row " + ", ".join(f"{n} {v:.2f}" for n, v in m["cpu us a row"].items())
            + f"; server switches a 1000 rows {m['server switches a 1000 rows']:.1f}")


def main():
    os.makedirs(OUT, exist_ok=True)
    results = {fmt: [] for fmt in FORMATS}
    with h.Env() as env:
        topics = [f"rows-{i}" for i in range(ROUNDS * len(FORMATS))]
        bootstrap = env.start_broker([f"{t}:{PARTITIONS}" for t in topics], prefix=sr.TOOLS_CPU)
        broker = env.procs[-1].pid
        for topic in topics:
            subprocess.run([*sr.TOOLS_CPU, sr.BENCH, "produce", "--bootstrap", bootstrap,
                            "--topic", topic, "--count", str(RECORDS), "--json"], check=True,
                           capture_output=True)
        if STORE == "clickhouse":
            ch = stores.ClickHouse(env, prefix=sr.TOOLS_CPU)
            ch.query(sr.CH_TABLE)
            empty = lambda: ch.query("TRUNCATE TABLE metrics")  # noqa: E731
        else:
            ch = stores.Postgres(env, prefix=sr.TOOLS_CPU)
            ch.sql(sr.PG_TABLE)
            empty = lambda: sr.settle(ch)  # noqa: E731
        for i, topic in enumerate(topics):
            fmt = FORMATS[i % len(FORMATS)]
            empty()
            m = measure(env, ch, bootstrap, broker, topic, fmt, f"g{i}")
            results[fmt].append(m)
            print(line(fmt, m)
                  + (f"; {m['rows an insert']:,.0f} rows an INSERT, "
                     f"{m['merged rows a row']:.2f} rows merged a row" if fmt != "COPY" else
                     f"; {m['rows an insert']:,.0f} rows a transaction"),
                  flush=True)
            if fmt == "COPY":
                m["psql ceilings"] = {}
                for n in COPIES:
                    m["psql ceilings"][n] = psql_ceiling(env, ch, n)
                    print(line(f"psql \\copy, {n} COPYs", m["psql ceilings"][n]), flush=True)
    with open(os.path.join(OUT, f"store-cpu-{STORE}.json"), "w") as f:
        json.dump({"machine": bench_env.machine(), "records": RECORDS, "results": results}, f,
                  indent=1)


if __name__ == "__main__":
    main()
