"""The operator's pause: `streams-host pause` while a producer writes a steady
stream. The host drains (every input it began is committed) and then reads
nothing more, staying in its group, until `streams-host resume`; a reload
that restarts its consumer keeps it paused, and so does a restart of the
host; `run --paused` starts paused (here with two processing threads).
Every input is output exactly once across all of it. A window that holds
inputs keeps a pause from draining, and the command says so, as it does
when a busy host answers no status within the wait."""
import http.server
import json
import os
import re
import sys
import threading
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PARTITIONS = 4
PIPELINE = """source: {name: in, stream_name: pz-in}
steps:
  - {kind: map, name: upper, plugin: testkit, function: upper}
  - {kind: sink, name: out, stream_name: pz-out}
"""
# A count window no test fills: the inputs it holds stay in flight.
WINDOWED = """source: {name: win, stream_name: pw-in}
steps:
  - kind: reduce
    name: all
    plugin: testkit
    function: collect
    window: {type: tumbling, size: 1000000}
  - {kind: sink, name: out, stream_name: pw-out}
"""
IN = h.partitions("pz-in", PARTITIONS)
OUT = h.partitions("pz-out", PARTITIONS)


def admin(port, *args, **kwargs):
    return h.run_cli([*args, "--admin-port", str(port)], **kwargs)


def outputs(bootstrap):
    return sum(h.end_offsets(bootstrap, OUT).values())


def every_partition(status, key):
    parts = status["partitions"]
    return len(parts) == PARTITIONS and all(p[key] for p in parts)


def check_held(bootstrap, port, out_before, what):
    """New inputs arrive on every partition and each stops at them: the
    host has fetched past where it stopped and output nothing more."""
    h.wait_for(lambda: every_partition(h.host_status(port), "paused"), 60,
               f"every partition to stop at its next record ({what})")
    committed = h.committed_offsets(bootstrap, "pipeline-in", IN)
    h.wait_for(lambda: all(end > committed[p] for p, end in h.end_offsets(bootstrap, IN).items()),
               30, f"inputs after every partition's committed offset ({what})")
    status = h.host_status(port)
    assert status["paused"] and status["paused_since_ms"] > 0, status
    assert outputs(bootstrap) == out_before, (what, outputs(bootstrap), out_before)
    assert h.committed_offsets(bootstrap, "pipeline-in", IN) == committed, what
    assert h.gauge(port, "streams_paused") == 1, what


def pause_drains(bootstrap, port):
    result = admin(port, "pause")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("paused since 20"), result.stdout
    assert "drained: 4 partition(s) assigned" in result.stdout, result.stdout
    status = h.host_status(port)
    assert every_partition(status, "drained"), status
    # Drained: what the host began is committed, and each partition's
    # outputs are all there.
    committed = h.committed_offsets(bootstrap, "pipeline-in", IN)
    for p in status["partitions"]:
        if p["position"] >= 0:
            assert committed[p["partition"]] == p["position"], (committed, status)
    assert outputs(bootstrap) == sum(max(c, 0) for c in committed.values()), committed
    view = admin(port, "top", "--frames", "1")
    assert view.returncode == 0, view.stderr
    assert "PAUSED by the operator" in view.stdout, view.stdout
    assert view.stdout.count(" drained\n") == PARTITIONS, view.stdout
    return outputs(bootstrap)


def resume(port):
    result = admin(port, "resume")
    assert result.returncode == 0 and result.stdout == "running\n", result.stdout + result.stderr


def check_exactly_once(bootstrap, sent):
    values = sorted(h.read_values(bootstrap, "pz-out"))
    expected = sorted(b"N%d" % n for n in range(sent))
    assert values == expected, (len(values), len(expected), sorted(set(expected) - set(values))[:5])


def check_silent_status():
    """A host that took the pause but answers no GET /status within the
    wait: the wait ran out (exit 1), the CLI's own request is no error."""
    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.dumps({"paused": True, "since_ms": 1}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            release.wait(30)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = admin(server.server_address[1], "pause", "--timeout-ms", "1000")
    finally:
        release.set()
        server.shutdown()
    assert result.returncode == 1, result
    assert result.stdout.startswith("paused since"), result.stdout
    assert result.stderr.startswith("error: paused, but not drained within 1000 ms: no answer "
                                    "from GET /status"), result.stderr


def main():
    check_silent_status()
    with h.Env() as env:
        bootstrap = env.start_broker([f"pz-in:{PARTITIONS}", f"pz-out:{PARTITIONS}", "pw-in:1",
                                      "pw-out:1"])
        pipeline = env.write("p.yaml", PIPELINE)
        config = env.write("d.yaml", h.deployment())
        host = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                              extra=["--admin-port", "0"])
        port = h.admin_port(env, host)
        producer = h.SteadyProducer(bootstrap, "pz-in")
        producer.start()
        try:
            h.wait_for(lambda: outputs(bootstrap) >= 200, 60, "the first outputs")
            assert h.gauge(port, "streams_paused") == 0
            out = pause_drains(bootstrap, port)
            check_held(bootstrap, port, out, "paused")
            again = admin(port, "pause", "--no-wait")  # paused already: no change
            assert again.returncode == 0 and again.stdout.startswith("paused since"), again

            # A reload that restarts the consumer: the new one is paused too.
            generation = h.host_status(port)["generation"]
            env.write("d.yaml", h.deployment(params='fetch.wait.max.ms: "7"'))
            status = h.wait_generation(port, generation + 1, timeout=60)
            assert status["last_reload"]["outcome"] == "applied", status
            check_held(bootstrap, port, out, "after a reload")

            # Stopped while paused, the host starts again paused.
            assert env.stop(host) == 0, env.log(host)
            first = env.log(host)
            host = env.start_host(pipeline, config, bootstrap, name="restarted",
                                  plugins_dir=h.TEST_PLUGINS_DIR, extra=["--admin-port", "0"])
            port = h.admin_port(env, host)
            check_held(bootstrap, port, out, "restarted")
            assert "starting paused: paused by the operator (POST /pause) at 20" in env.log(host)

            resume(port)
            h.wait_for(lambda: not h.host_status(port)["paused"], 10, "the resume")
            assert h.gauge(port, "streams_paused") == 0
            h.wait_for(lambda: outputs(bootstrap) > out, 60, "outputs after the resume")
            sent = producer.finish()
            h.wait_committed_to_end(bootstrap, "pipeline-in", IN, timeout=120)
        finally:
            producer.done.set()
        assert env.stop(host) == 0, env.log(host)
        assert "paused by the operator (POST /pause): each partition stops" in first, first
        assert first.count("paused by the operator") == 1, first  # the second pause changed nothing
        assert "resumed by the operator (POST /resume) after" in env.log(host), env.log(host)
        check_exactly_once(bootstrap, sent)

        # Started paused, on two processing threads: joins, reads nothing
        # until resumed.
        out = outputs(bootstrap)
        threads = env.write("d2.yaml", h.deployment(source_extra="parallelism: 2"))
        host = env.start_host(pipeline, threads, bootstrap, name="paused",
                              plugins_dir=h.TEST_PLUGINS_DIR,
                              extra=["--admin-port", "0", "--paused"])
        port = h.admin_port(env, host)
        h.produce(bootstrap, "pz-in", [(None, b"n%d" % n, []) for n in range(sent, sent + 200)])
        check_held(bootstrap, port, out, "run --paused")
        assert {p["thread"] for p in h.host_status(port)["partitions"]} == {1, 2}
        assert "paused by the operator (run --paused)" in env.log(host)
        resume(port)
        h.wait_committed_to_end(bootstrap, "pipeline-in", IN, timeout=120)
        assert env.stop(host) == 0, env.log(host)
        check_exactly_once(bootstrap, sent + 200)

        # Inputs a window holds keep the pause from draining: said, exit 1.
        windowed = env.start_host(env.write("w.yaml", WINDOWED),
                                  env.write("dw.yaml", h.deployment(source="win")), bootstrap,
                                  name="windowed", plugins_dir=h.TEST_PLUGINS_DIR,
                                  extra=["--admin-port", "0"])
        port = h.admin_port(env, windowed)
        h.produce(bootstrap, "pw-in", [(None, b"w%d" % n, []) for n in range(5)])
        h.wait_for(lambda: [p for p in h.host_status(port)["partitions"]
                            if p["position"] == 5 and p["in_flight"] > 0], 60,
                   "the five inputs read, the window holding them")
        result = admin(port, "pause", "--timeout-ms", "1500")
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stdout.startswith("paused since"), result.stdout
        assert re.search(r"paused, but not drained within 1500 ms: partition 0: \d+ input\(s\) "
                         r"in flight \(open batches or windows hold them", result.stderr), result.stderr
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/pause", timeout=30)
            raise AssertionError("GET /pause answered")
        except urllib.error.HTTPError as e:
            assert e.code == 405, e
        assert env.stop(windowed) == 0, env.log(windowed)

        bad = h.run_cli(["run", "--runtime", "local", "--paused", pipeline])
        assert bad.returncode == 2 and "--paused is for --runtime kafka" in bad.stderr, bad
    print("OK")


if __name__ == "__main__":
    main()
