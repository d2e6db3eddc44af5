"""Hot reload of Python modules, and a Python function that blocks.

Under a steady numbered stream on four partitions, a module in a package
(linked in from elsewhere) that a `python:` map imports is rewritten eight times, alternating two versions (in place,
or renamed over), each picked up by the file watcher: every number is
output exactly once, stamped with the version of its partition's generation
at the reported switch points, with no rebalance. A version with a syntax
error is refused (the reason names the file and line) and the running one
goes on. Then a version that blocks on one record makes GET /livez fail
naming the step, and it recovers once the function returns. A module that
installs signal handlers as it is imported: the host takes its own back
(logged) and stops on SIGTERM; the same module reloaded is refused, saying
why."""
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PARTITIONS = 4
RELOADS = 8
PIPELINE = """source: {name: in, stream_name: pr-in}
steps:
  - {kind: map, name: stamp, python: stamp_fns.stamp}
  - {kind: sink, name: out, stream_name: pr-out}
"""
MODULE = '''from versions import helper


def stamp(msg):
    where = f"{msg.partition}@{msg.offset}".encode()
    return msg.payload + b" " + helper.VERSION + b" " + where
'''
BLOCKING = '''import os
import time


def stamp(msg):
    while msg.payload == b"block" and os.path.exists(%r):
        time.sleep(0.01)
    return msg.payload + b" v3"
'''


def write(path, text, in_place):
    if in_place:
        with open(path, "w") as f:
            f.write(text)
    else:
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)


def output_count(bootstrap):
    return sum(h.end_offsets(bootstrap, h.partitions("pr-out", PARTITIONS)).values())


def livez(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def reloads_under_load(env, bootstrap, port):
    helper = env.path("versions/helper.py")
    producer = h.SteadyProducer(bootstrap, "pr-in")
    producer.start()
    versions, points = ["v1"], []
    try:
        h.wait_for(lambda: output_count(bootstrap) >= 100, 60, "the first outputs")
        for k in range(1, RELOADS + 1):
            version = "v2" if k % 2 else "v1"
            write(helper, f"VERSION = b{version!r}\n", in_place=k % 4 in (1, 2))
            status = h.wait_generation(port, k + 1)
            last = status["last_reload"]
            assert last["outcome"] == "applied", last
            assert "step 'stamp': python modules changed" in last["changes"], last
            versions.append(version)
            points.append({p["partition"]: max(p["offset"], 0) for p in last["switch_points"]})
            target = output_count(bootstrap) + 40
            h.wait_for(lambda: output_count(bootstrap) >= target, 60, "outputs after a reload")
        # A syntax error: refused, and the last version runs on.
        write(helper, "VERSION = b'v9'\ndef broken(:\n", in_place=True)
        status = h.wait_for(lambda: (lambda s: s["reloads"]["refused"] == 1 and s)(
            h.host_status(port)), 30, "the broken module to be refused")
        error = status["last_reload"]["error"]
        assert "SyntaxError" in error and "helper.py, line 2" in error, error
        assert status["generation"] == RELOADS + 1, status
        target = output_count(bootstrap) + 40
        h.wait_for(lambda: output_count(bootstrap) >= target, 60, "outputs after the refusal")
        total = producer.finish()
        h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("pr-in", PARTITIONS),
                                timeout=120)
    finally:
        producer.done.set()

    seen = {}
    for r in h.read_all(bootstrap, h.partitions("pr-out", PARTITIONS)):
        number, version, where = r.value.decode().split(" ")
        partition, offset = (int(x) for x in where.split("@"))
        assert number not in seen, f"{number} output twice: {seen[number]} and {r.value}"
        seen[number] = version
        wanted = h.expected_version(versions, points, partition, offset)
        assert version == wanted, (r.value, wanted, points)
    missing = [n for n in range(total) if f"n{n}" not in seen]
    assert not missing, missing[:10]
    assert set(seen.values()) == {"v1", "v2"}, set(seen.values())
    return total


def blocking(env, bootstrap, port):
    gate = env.write("gate", "")
    write(env.path("stamp_fns.py"), BLOCKING % gate, in_place=False)
    h.wait_generation(port, RELOADS + 2)
    h.produce(bootstrap, "pr-in", [(None, b"block", [])])
    code, body = h.wait_for(lambda: (lambda a: a[0] == 503 and a)(livez(port)), 60,
                            "/livez to report the blocked Python function")
    assert "step 'stamp' (plugin python" in body, body
    os.unlink(gate)
    h.wait_for(lambda: livez(port)[0] == 200, 60, "/livez to recover")
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("pr-in", PARTITIONS))


SIGNALS = """import signal

signal.signal(signal.SIGTERM, lambda *args: None)
signal.signal(signal.SIGINT, signal.SIG_IGN)


def same(msg):
    return msg.payload
"""


def signal_handlers(env, bootstrap):
    env.write("sig_fns.py", SIGNALS)
    pipeline = PIPELINE.replace("pr-", "ps-").replace("stamp_fns.stamp", "sig_fns.same")
    host = env.start_host(env.write("ps.yaml", pipeline), env.write("ps-d.yaml", h.deployment()),
                          bootstrap, name="signals", extra=["--admin-port", "0"])
    port = h.admin_port(env, host)
    for name in ("SIGTERM", "SIGINT"):
        assert f"loading the pipeline replaced the host's handler of {name} (a Python module " \
            "calling signal.signal, say): the host's is back" in env.log(host), env.log(host)
    write(env.path("sig_fns.py"), SIGNALS + "# again\n", in_place=False)
    status = h.wait_for(lambda: (lambda s: s["reloads"]["refused"] == 1 and s)(
        h.host_status(port)), 30, "the reload to be refused")
    assert "(the module calls signal.signal: the host owns the process's signals" in \
        status["last_reload"]["error"], status["last_reload"]
    h.produce(bootstrap, "ps-in", [(None, b"x", [])])
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("ps-in", 1))
    assert env.stop(host) == 0, env.log(host)


LOGGING = """import logging

log = logging.getLogger("levels")


def same(msg):
    log.debug("saw %s", msg.payload.decode())
    return msg.payload
"""


def log_level_reaches_python(env, bootstrap):
    """`log-level debug` on a running host reaches Python's logging at once,
    not at the next reload."""
    env.write("level_fns.py", LOGGING)
    pipeline = PIPELINE.replace("pr-", "pl-").replace("stamp_fns.stamp", "level_fns.same")
    host = env.start_host(env.write("pl.yaml", pipeline), env.write("pl-d.yaml", h.deployment()),
                          bootstrap, name="levels", extra=["--admin-port", "0"])
    port = h.admin_port(env, host)
    for n, value in enumerate((b"before", b"after"), 1):
        h.produce(bootstrap, "pl-in", [(None, value, [])])
        h.wait_for(lambda: h.committed_offsets(bootstrap, "pipeline-in",
                                               h.partitions("pl-in", 1))[0] == n, 30,
                   f"{value} committed")
        if value == b"before":
            result = h.run_cli(["log-level", "debug", "--admin-port", str(port)])
            assert result.returncode == 0, result
    log = env.log(host)
    assert "[python/stamp] levels: saw before" not in log, log
    assert "DEBUG [python/stamp] levels: saw after" in log, log
    assert "reload (" not in log, log
    assert env.stop(host) == 0, env.log(host)


def main():
    with h.Env() as env:
        bootstrap = env.start_broker([f"pr-in:{PARTITIONS}", f"pr-out:{PARTITIONS}", "ps-in:1",
                                      "ps-out:1", "pl-in:1", "pl-out:1"])
        signal_handlers(env, bootstrap)
        log_level_reaches_python(env, bootstrap)
        env.write("stamp_fns.py", MODULE)
        # The package is linked in from a directory the host does not walk
        # (a hidden one): its changes are seen through the link alone.
        env.write(".shared/versions/__init__.py", "")
        env.write(".shared/versions/helper.py", "VERSION = b'v1'\n")
        os.symlink(".shared/versions", env.path("versions"))
        host = env.start_host(env.write("p.yaml", PIPELINE), env.write("d.yaml", h.deployment()),
                              bootstrap, extra=["--admin-port", "0", "--liveness-timeout-ms",
                                                "1000"])
        port = h.admin_port(env, host)
        total = reloads_under_load(env, bootstrap, port)
        blocking(env, bootstrap, port)
        assert env.stop(host) == 0, env.log(host)
        log = env.log(host)
        assert log.count(" assigned pr-in[") == 1, log  # no rebalance, no restart
    print(f"ok: {total} numbers through {RELOADS} reloads of a Python module")


if __name__ == "__main__":
    main()
