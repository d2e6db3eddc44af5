"""A PostgreSQL server that stops answering (a table lock held by another
session, as a migration would): SIGTERM still stops the host within its
drain_timeout_ms, exit status 1 saying outputs were unacknowledged, nothing
committed for a row that is not in the table; the statement waiting for the
lock has its connection cut, so the host does not wait for it to exit, and
the server ends it. Once the lock is gone, a restarted host writes every
row. With the sink's timeout_ms, a COPY waiting on the lock is cut and
retried while the host runs on, and its rows land once the lock is gone,
with no restart."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
import stores  # noqa: E402

PARTITIONS = 2

PIPELINE = stores.STEPS + """  - kind: sink
    name: rows
    plugin: postgres_sink
    function: postgres
    batch_size: 100
    batch_time_ms: 20
    config:
      table: metrics
      columns: {name: name, source_partition: _partition, source_offset: _offset}
"""

DEPLOYMENT = stores.deployment(source_extra="""          drain_timeout_ms: 2000
          commit_interval_ms: 200
""", sinks="""        rows:
          config: {conninfo: "${envvar:PG_CONNINFO}"}
""")


def main():
    with h.Env() as env:
        pg = stores.Postgres(env)
        pg.sql("CREATE TABLE metrics (name text, source_partition integer, source_offset bigint)")
        os.environ["PG_CONNINFO"] = pg.conninfo
        bootstrap = env.start_broker([f"metrics:{PARTITIONS}"])
        pipeline, deployment = env.write("p.yaml", PIPELINE), env.write("d.yaml", DEPLOYMENT)
        first, second = stores.metric_inputs(500), stores.metric_inputs(1000)[500:]
        h.produce(bootstrap, "metrics", [(b"k%d" % i, v, []) for i, v in enumerate(first)])
        host = env.start_host(pipeline, deployment, bootstrap)
        count = lambda: int(pg.sql("SELECT count(*) FROM metrics")[0])  # noqa: E731
        kept = len(stores.expected_rows(first))
        h.wait_for(lambda: count() == kept or host.poll() is not None, 60, "the first rows")
        assert host.poll() is None, env.log(host)

        locker = locked(pg)
        try:
            h.produce(bootstrap, "metrics",
                      [(b"j%d" % i, v, []) for i, v in enumerate(second)])
            # The host reads the new inputs; their COPY waits for the lock.
            h.wait_for(lambda: pg.sql("SELECT count(*) FROM pg_locks WHERE NOT granted") != ["0"],
                       60, "a COPY waiting for the lock")
            status = env.stop(host, timeout=20)
            log = env.log(host)
            assert status == 1, (status, log)
            assert "outputs still unacknowledged after drain_timeout_ms" in log, log
            assert "did not stop within" not in log, log
            # The COPY whose connection the host cut is ended by the server
            # (client_connection_check_interval): the lock is the only one left.
            h.wait_for(lambda: pg.sql("SELECT count(*) FROM pg_stat_activity WHERE "
                                      "wait_event_type = 'Lock'") == ["0"], 10,
                       "the abandoned COPY ended by the server")
        finally:
            unlock(locker)
        stored = set(pg.sql("SELECT source_partition || ':' || source_offset FROM metrics"))

        # Nothing committed beyond what the table holds.
        tps = h.partitions("metrics", PARTITIONS)
        committed = h.committed_offsets(bootstrap, "pipeline-in", tps)
        for r in h.read_all(bootstrap, tps):
            if r.offset < committed[r.partition] and json.loads(r.value)["type"] == "c":
                assert f"{r.partition}:{r.offset}" in stored, ("committed, no row", r.offset)
        assert sum(committed.values()) > 0, committed

        host = env.start_host(pipeline, deployment, bootstrap, name="again")
        wanted = len(stores.expected_rows(first + second))
        h.wait_for(lambda: count() >= wanted or host.poll() is not None, 60, "every row")
        assert env.stop(host) == 0, env.log(host)
        assert count() >= wanted
        seconds = stopped_server(env, pg, bootstrap, pipeline, deployment)
        bounded_wait(env, pg, bootstrap, deployment)
        print(f"stopped within drain_timeout_ms with a COPY waiting for a lock; {count()} rows "
              f"after the restart; with the server stopped (SIGSTOP) in {seconds:.1f} s; a "
              "statement bounded by timeout_ms: ok")


def locked(pg):
    """A psql session holding an exclusive lock on the table (as a migration
    would), until its stdin gets ROLLBACK."""
    locker = subprocess.Popen(
        ["psql", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "streams", "-d", "postgres",
         "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, text=True)
    locker.stdin.write("BEGIN;\nLOCK TABLE metrics IN ACCESS EXCLUSIVE MODE;\n")
    locker.stdin.flush()
    h.wait_for(lambda: pg.sql(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE c.relname = 'metrics' AND l.mode = 'AccessExclusiveLock' AND l.granted")
        == ["1"], 30, "the table lock")
    return locker


def unlock(locker):
    locker.stdin.write("ROLLBACK;\n")
    locker.stdin.close()
    locker.wait(timeout=30)


def bounded_wait(env, pg, bootstrap, deployment):
    """timeout_ms: 1500. A COPY held by the lock is cut after 1.5 s and
    retried, again and again, while the host runs; once the lock is gone
    the rows land without a restart."""
    pipeline = env.write("bounded.yaml", PIPELINE.replace(
        "      table: metrics\n", "      table: metrics\n      timeout_ms: 1500\n"))
    rows = stores.metric_inputs(1400)[1200:]
    names = [json.loads(v)["name"] for v in rows if json.loads(v)["type"] == "c"]
    locker = locked(pg)
    try:
        host = env.start_host(pipeline, deployment, bootstrap, name="bounded")
        h.produce(bootstrap, "metrics", [(b"b%d" % i, v, []) for i, v in enumerate(rows)])
        h.wait_for(lambda: "no answer within timeout_ms (1500 ms): the connection was cut and "
                           "the write is retried" in env.log(host) or host.poll() is not None,
                   60, "a write cut after timeout_ms")
        assert host.poll() is None, env.log(host)
    finally:
        unlock(locker)
    stored = lambda: set(pg.sql("SELECT name FROM metrics"))  # noqa: E731
    h.wait_for(lambda: set(names) <= stored() or host.poll() is not None, 60,
               "the rows once the lock is gone")
    assert env.stop(host) == 0, env.log(host)


def server_processes(pg):
    """The postmaster and its children (the backends, the writers)."""
    pids = [pg.proc.pid]
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pg.proc.pid:
                    pids.append(int(pid))
        except (OSError, ValueError):
            pass
    return pids


def signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:  # a backend that ended meanwhile (a psql's query)
            pass


def consumed(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    return int(sum(float(v) for v in re.findall(r"^streams_consumed_total\{[^}]*\} (\S+)$",
                                                  text, re.M)))


def stopped_server(env, pg, bootstrap, pipeline, deployment):
    """A server that stops answering altogether (SIGSTOP: a frozen VM, a
    network cut off): a COPY is out on it, and SIGTERM still stops the host
    within its drain_timeout_ms (a cancel request would wait on the server
    for good; the host cuts its connection instead). Returns the seconds
    the host took to exit."""
    first, second = (stores.metric_inputs(1200)[1000:1100], stores.metric_inputs(1200)[1100:])
    host = env.start_host(pipeline, deployment, bootstrap, name="stopped",
                          extra=["--admin-port", "0"])
    port = h.admin_port(env, host)
    before = int(pg.sql("SELECT count(*) FROM metrics")[0])
    h.produce(bootstrap, "metrics", [(b"s%d" % i, v, []) for i, v in enumerate(first)])
    h.wait_for(lambda: int(pg.sql("SELECT count(*) FROM metrics")[0]) > before, 60,
               "rows from a live connection")
    stopped = server_processes(pg)
    signal_all(stopped, signal.SIGSTOP)
    try:
        h.produce(bootstrap, "metrics", [(b"t%d" % i, v, []) for i, v in enumerate(second)])
        h.wait_for(lambda: consumed(port) >= len(first) + len(second), 60,
                   "the host to take the inputs the stopped server is to get")
        start = time.monotonic()
        status = env.stop(host, timeout=30)
        seconds = time.monotonic() - start
        log = env.log(host)
        assert status == 1, (status, log)
        assert "outputs still unacknowledged after drain_timeout_ms" in log, log
        assert "did not stop within" not in log, log
        assert seconds < 10, (seconds, log)
    finally:
        signal_all(stopped, signal.SIGCONT)
    return seconds


if __name__ == "__main__":
    main()
