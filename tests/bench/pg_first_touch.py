"""What a fresh PostgreSQL backend costs a stream of COPYs: the server's CPU
a row (from /proc, with its backends) when psql loads the same N rows into
the store benchmark's table as one COPY, as K COPYs of N/K rows in one
session, and as the same K COPYs in a session whose backend first read a
table larger than shared_buffers through the pool (pg_prewarm), so that it
has touched every buffer once; the prewarm's own CPU is measured alone and
taken off. No host and no broker: it tells whether the host's COPYs cost the
server more because they are many or because its connection is new. The
server runs on core 0, psql on core 1, as in store_rate.py.

  python3 tests/bench/pg_first_touch.py BUILD OUT [--rows N] [--copies K]
      [--rounds R]

Writes OUT/pg-first-touch.json and prints one line a case.
"""
import json
import os
import statistics
import subprocess
import sys
import time

BUILD = os.path.abspath(sys.argv[1])
OUT = os.path.abspath(sys.argv[2])

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_env  # noqa: E402
from bench_env import arg  # noqa: E402

ROWS = int(arg("--rows", "600000"))
COPIES = int(arg("--copies", "16"))
ROUNDS = int(arg("--rounds", "3"))
bench_env.use_build(BUILD)
import harness as h  # noqa: E402
import stores  # noqa: E402

from store_cpu import with_children  # noqa: E402  (the server's CPU with its backends)
from store_rate import PG_TABLE, settle  # noqa: E402  (the store benchmark's table)


def children(pg):
    """The postmaster's child processes (exited ones it has not reaped yet
    included)."""
    return set(subprocess.run(["pgrep", "-P", str(pg.proc.pid)], capture_output=True,
                              text=True).stdout.split())


def write_rows(path, count):
    """IngestMetric-like rows in COPY text, ~200 bytes each, as the host's."""
    with open(path, "w") as f:
        for i in range(count):
            f.write(f"{i % 1000}\t{i % 7}\tc:transactions/duration@millisecond\tc\t"
                    f"{1846062325 + i}\t90\t[{i}.5, 1.25]\t"
                    f'{{"env": "prod", "release": "r{i % 50}"}}\n')


def timed_server(pg, psql, args):
    """(server CPU seconds, wall seconds) of one psql session, read once its
    backend has been reaped (its CPU then in the postmaster's)."""
    settle(pg)
    before, cpu, start = children(pg), with_children(pg.proc.pid), time.monotonic()
    subprocess.run(psql + args, check=True, capture_output=True)
    wall = time.monotonic() - start
    h.wait_for(lambda: children(pg) <= before, 10, "the session's backend to be reaped")
    return with_children(pg.proc.pid) - cpu, wall


def main():
    os.makedirs(OUT, exist_ok=True)
    with h.Env() as env:
        os.chmod(env.dir, 0o777)  # the server's user reads the files psql names
        pg = stores.Postgres(env, prefix=["taskset", "-c", "0"])
        pg.sql(PG_TABLE)
        pg.sql("CREATE EXTENSION pg_prewarm")
        rows = env.path("rows.tsv")
        write_rows(rows, ROWS)
        psql = ["taskset", "-c", "1", "psql", "-h", "127.0.0.1", "-p", str(pg.port), "-U",
                "streams", "-d", "postgres", "-q", "-v", "ON_ERROR_STOP=1"]
        # The prewarmed table: twice the rows, larger than shared_buffers.
        pg.sql("CREATE TABLE warm (LIKE metrics) WITH (autovacuum_enabled = off)")
        subprocess.run(psql + ["-c", f"\\copy warm FROM '{rows}'", "-c",
                               f"\\copy warm FROM '{rows}'"], check=True)
        with open(rows) as f:
            lines = f.readlines()
        share = -(-ROWS // COPIES)
        copies = []
        for k in range(COPIES):
            part = env.path(f"rows-{k}.tsv")
            with open(part, "w") as f:
                f.writelines(lines[k * share:(k + 1) * share])
            copies += ["-c", f"\\copy metrics FROM '{part}'"]
        prewarm = ["-c", "SELECT pg_prewarm('warm')"]
        cases = {"one COPY": ["-c", f"\\copy metrics FROM '{rows}'"],
                 f"{COPIES} COPYs": copies, f"{COPIES} COPYs, backend prewarmed": prewarm + copies,
                 "prewarm alone": prewarm}
        runs = {name: [] for name in cases}
        for r in range(ROUNDS):
            for name in (list(cases) if r % 2 == 0 else list(reversed(cases))):
                runs[name].append(timed_server(pg, psql, cases[name]))
    alone = statistics.median(cpu for cpu, _ in runs["prewarm alone"])
    results = {"machine": bench_env.machine(), "rows": ROWS, "copies": COPIES,
               "prewarm alone: server CPU s": alone, "cases": {}}
    for name, values in runs.items():
        if name == "prewarm alone":
            continue
        off = alone if "prewarmed" in name else 0.0
        per_row = [(cpu - off) / ROWS * 1e6 for cpu, _ in values]
        results["cases"][name] = {"server CPU us a row": per_row, "seconds": [w for _, w in values]}
        print(f"{name}: server {statistics.median(per_row):.2f} us a row (runs "
              + ", ".join(f"{v:.2f}" for v in per_row) + ")"
              + (f", the prewarm's {alone:.2f} s taken off" if off else ""))
    with open(os.path.join(OUT, "pg-first-touch.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
