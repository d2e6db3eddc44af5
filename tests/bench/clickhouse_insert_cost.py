"""What a ClickHouse INSERT costs the server, by format and by rows an INSERT:
the server's CPU a row (from /proc, over the INSERTs and over an OPTIMIZE
FINAL after them, so merges count) when the same N IngestMetric rows come as
INSERTs of CHUNK rows each over HTTP (JSONEachRow, RowBinary, Native), as one
Native INSERT, and from clickhouse-client (the store benchmark's ceiling).
No host and no broker: it separates what the server spends on a row from what
it spends on an INSERT (a part), to tell which change to clickhouse_sink could
pay. The server runs on core 0, clickhouse-client on core 1, as in
store_rate.py.

  python3 tests/bench/clickhouse_insert_cost.py BUILD OUT [--rows N]
      [--chunks 1000,12500,50000] [--rounds K]

Writes OUT/clickhouse-insert-cost.json and prints one line a measurement.
"""
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

BUILD = os.path.abspath(sys.argv[1])
OUT = os.path.abspath(sys.argv[2])

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_env  # noqa: E402
from bench_env import arg  # noqa: E402

ROWS = int(arg("--rows", "600000"))
CHUNKS = [int(c) for c in arg("--chunks", "1000,12500,50000").split(",")]
ROUNDS = int(arg("--rounds", "2"))
bench_env.use_build(BUILD)
import harness as h  # noqa: E402
import stores  # noqa: E402

from store_rate import CH_TABLE as TABLE  # noqa: E402  (the store benchmark's table)
FORMATS = ["JSONEachRow", "RowBinary", "Native"]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def row(n):
    return {"org_id": n % 1000, "project_id": n % 97, "name": "c:sessions/session@none",
            "type": "c", "timestamp": 1846062325 + n % 3600, "retention_days": 90,
            "value": [float(n)]}


class Server:
    def __init__(self, env):
        self.ch = stores.ClickHouse(env, prefix=["taskset", "-c", "0"])
        self.ch.query(TABLE)

    def post(self, query, body=b""):
        url = self.ch.url + "/?query=" + urllib.parse.quote(query)
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=120) as r:
            return r.read()

    def bodies(self, fmt, chunk):
        """The table's rows in `fmt`, `chunk` rows a body."""
        return [self.post(f"SELECT * FROM metrics ORDER BY value LIMIT {chunk} OFFSET {at} "
                          f"FORMAT {fmt}") for at in range(0, ROWS, chunk)]

    def measure(self, insert):
        """Server CPU µs a row for insert() (then merged to one part)."""
        self.ch.query("TRUNCATE TABLE metrics")
        pid = self.ch.proc.pid
        before, start = cpu_seconds(pid), time.monotonic()
        insert()
        seconds, inserted = time.monotonic() - start, cpu_seconds(pid)
        self.ch.query("OPTIMIZE TABLE metrics FINAL")
        merged = cpu_seconds(pid)
        assert self.ch.query("SELECT count() FROM metrics").strip() == str(ROWS)
        return {"insert_us_per_row": round((inserted - before) / ROWS * 1e6, 3),
                "with_merge_us_per_row": round((merged - before) / ROWS * 1e6, 3),
                "rows_per_s": int(ROWS / seconds)}


def main():
    os.makedirs(OUT, exist_ok=True)
    results = {"rows": ROWS, "machine": bench_env.machine(),
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runs": {}}
    with h.Env() as env:
        server = Server(env)
        ndjson = env.path("rows.ndjson")
        with open(ndjson, "w") as f:
            for n in range(ROWS):
                f.write(json.dumps(row(n)) + "\n")

        def client():
            with open(ndjson) as f:
                subprocess.run(["taskset", "-c", "1", "clickhouse-client", "--port",
                                str(server.ch.tcp), "--query",
                                "INSERT INTO metrics FORMAT JSONEachRow"], stdin=f, check=True)
        client()
        cases = [("clickhouse-client, one INSERT", client)]
        whole = b"".join(server.bodies("Native", ROWS))
        cases.append(("Native, one INSERT", lambda: server.post("INSERT INTO metrics FORMAT Native",
                                                                whole)))
        for chunk in CHUNKS:
            for fmt in FORMATS:
                bodies = server.bodies(fmt, chunk)

                def chunks(fmt=fmt, bodies=bodies):
                    for body in bodies:
                        server.post(f"INSERT INTO metrics FORMAT {fmt}", body)
                cases.append((f"{fmt}, INSERTs of {chunk} rows", chunks))
        for r in range(ROUNDS):
            for name, insert in (cases if r % 2 == 0 else reversed(cases)):
                m = server.measure(insert)
                results["runs"].setdefault(name, []).append(m)
                print(r, name, m, flush=True)
    with open(os.path.join(OUT, "clickhouse-insert-cost.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
