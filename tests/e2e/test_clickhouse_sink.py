"""The ClickHouse sink plugin against a real ClickHouse server, in each
format: the output of simple_map_filter lands in the table exactly, row by
row; rows the table cannot take (a value of the wrong type) go to the DLQ
alone, with the reason (JSONEachRow: ClickHouse's message; RowBinary: the
sink's, naming the column), and the rest of their batches is written. In
the JSONEachRow run a proxy answers the first INSERT 503 with Retry-After:
2 (a server shedding load): the sink passes the wait on to the host, which
sends that batch again after it, and no row is lost or written twice."""
import json
import os
import re
import socket
import sys
import threading

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


class BusyOnce:
    """A loopback TCP proxy in front of the server at `port`: the first
    connection's request is read whole (its chunked body too) and answered
    503 with Retry-After: 2, then closed; every other connection is piped
    through unchanged."""

    def __init__(self, port):
        self.port, self.refused = port, threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        first = True
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed
            target = self.refuse if first else self.pipe
            first = False
            threading.Thread(target=target, args=(conn,), daemon=True).start()

    def refuse(self, conn):
        with conn, conn.makefile("rb") as f:
            head = []
            while (line := f.readline()) not in (b"\r\n", b""):
                head.append(line.decode("latin-1").lower())
            if any(h.startswith("transfer-encoding:") and "chunked" in h for h in head):
                while (size := int(f.readline().split(b";")[0], 16)) > 0:
                    f.read(size + 2)
                while f.readline() not in (b"\r\n", b""):  # trailers
                    pass
            else:
                length = [int(h.split(":")[1]) for h in head if h.startswith("content-length:")]
                f.read(length[0] if length else 0)
            conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            self.refused.set()

    def pipe(self, conn):
        upstream = socket.create_connection(("127.0.0.1", self.port))

        def copy(src, dst):
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)

        back = threading.Thread(target=copy, args=(upstream, conn), daemon=True)
        back.start()
        try:
            copy(conn, upstream)
            back.join()
        except OSError:
            pass
        finally:
            conn.close()
            upstream.close()

    def close(self):
        self.listener.close()


def project(row):
    return json.dumps({c: row[c] for c in COLUMNS}, sort_keys=True)


def run(fmt):
    with h.Env() as env:
        ch = stores.ClickHouse(env)
        ch.query(TABLE)
        busy = BusyOnce(ch.http) if fmt == "JSONEachRow" else None
        env.callback(lambda: busy and busy.close())
        os.environ["CLICKHOUSE_URL"] = busy.url if busy else ch.url
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
        if busy:
            assert busy.refused.is_set()
            assert re.search(r"not written, attempt 1, again in 2000 ms, as the store asked: .*"
                             r"HTTP 503", env.log(host)), env.log(host)

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
