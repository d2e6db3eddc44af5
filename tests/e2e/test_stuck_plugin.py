"""A plugin stuck in `process`, and one stuck in `create` during a reload.
The admin endpoint runs on its own thread: every endpoint answers within a
second throughout. A reload is refused at --reload-timeout-ms, saying where
the thread it waited on is (step, plugin, offset). One SIGTERM ends the
process (exit 1 once 2 x drain_timeout_ms + 5 s have passed without the
step returning). A SIGHUP while the host starts is kept for its control
plane, not the end of it."""
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: %(topic)s}
steps:
  - {kind: map, name: %(name)s, plugin: testkit, function: %(function)s, config: %(config)s}
  - {kind: sink, name: out, stream_name: %(topic)s-out}
"""
RELOAD_TIMEOUT_MS = 2000
DRAIN_MS = 1000


def get(port, target):
    """The status of GET target, which must come within a second (scaled
    under a sanitizer: h.TIME_SCALE)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{target}",
                                    timeout=h.TIME_SCALE) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def endpoints_answer(port):
    for target in ("/status", "/metrics", "/livez", "/readyz"):
        assert get(port, target) in (200, 503), target


class Prober(threading.Thread):
    """Asks every endpoint over and over while a reload is under way."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.done, self.rounds, self.error = port, threading.Event(), 0, None

    def run(self):
        try:
            while not self.done.is_set():
                endpoints_answer(self.port)
                self.rounds += 1
        except Exception as e:  # noqa: BLE001 (reported by finish())
            self.error = e

    def finish(self):
        self.done.set()
        self.join(timeout=30)
        assert self.error is None, self.error
        assert self.rounds > 0


def start(env, bootstrap, topic, name, function, config):
    pipeline = env.write(f"{topic}.yaml", PIPELINE % {"topic": topic, "name": name,
                                                      "function": function, "config": config})
    deployment = env.write(f"{topic}-d.yaml",
                           h.deployment(source_extra=f"drain_timeout_ms: {DRAIN_MS}"))
    host = env.start_host(pipeline, deployment, bootstrap, name=topic,
                          plugins_dir=h.TEST_PLUGINS_DIR,
                          extra=["--admin-port", "0", "--no-watch", "--liveness-timeout-ms", "1000",
                                 "--reload-timeout-ms", str(RELOAD_TIMEOUT_MS)])
    return host, pipeline, h.admin_port(env, host)


def refused_reload(port, expected):
    prober = Prober(port)
    prober.start()
    started = time.monotonic()
    result = h.run_cli(["reload", "--admin-port", str(port), "--timeout-ms", "30000"])
    took = time.monotonic() - started
    prober.finish()
    assert result.returncode == 1, (result.stdout, result.stderr)
    error = json.loads(result.stdout)["error"]
    assert expected in error, error
    assert took < RELOAD_TIMEOUT_MS / 1000 + 5, took


def one_sigterm_ends_it(env, host):
    host.send_signal(signal.SIGTERM)
    bound = 2 * DRAIN_MS / 1000 + 5
    status = h.wait_for(lambda: host.poll() is not None and (host.returncode,), bound + 15,
                        "the host to exit after one SIGTERM")[0]
    assert status == 1, (status, env.log(host))
    assert "did not stop within" in env.log(host), env.log(host)


def stuck_in_process(env, bootstrap):
    gate = env.write("process.gate", "")
    host, pipeline, port = start(env, bootstrap, "sp", "block", "block_while_file",
                                 "{path: %s}" % gate)
    h.produce(bootstrap, "sp", [(None, b"v%d" % i, []) for i in range(3)])
    h.wait_for(lambda: get(port, "/livez") == 503, 60, "/livez to report the stall")
    endpoints_answer(port)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert b"streams_consumed_total" in r.read()
    env.write("sp.yaml", open(pipeline).read().replace("}}", ", again: 1}}"))
    refused_reload(port, f"the processing thread did not switch within {RELOAD_TIMEOUT_MS} ms; "
                         "it is in step 'block' (plugin testkit 2.3.4) at sp[0]@0")
    one_sigterm_ends_it(env, host)


def stuck_in_create(env, bootstrap):
    host, pipeline, port = start(env, bootstrap, "sc", "pass", "sleepy", "{us: 0}")
    h.produce(bootstrap, "sc", [(None, b"a", [])])
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("sc", 1))
    gate = env.write("create.gate", "")
    env.write("sc.yaml", PIPELINE % {"topic": "sc", "name": "blk", "function": "block_create",
                                     "config": "{path: %s}" % gate})
    refused_reload(port, f"the reload did not finish within {RELOAD_TIMEOUT_MS} ms; reading the "
                         "files and creating step instances: it is in step 'blk' (plugin "
                         "testkit 2.3.4)")
    h.produce(bootstrap, "sc", [(None, b"b", [])])  # processing goes on meanwhile
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("sc", 1))
    assert get(port, "/livez") == 200
    one_sigterm_ends_it(env, host)


def sighup_while_starting(env, bootstrap):
    """A SIGHUP (logrotate, `systemctl reload` sent early) that comes while
    the host starts, before its control plane listens, does not end it: it
    is acted on, once, when the control plane starts."""
    gate = env.write("start.gate", "")
    pipeline = env.write("ss.yaml", PIPELINE % {"topic": "ss", "name": "blk",
                                                "function": "block_create",
                                                "config": "{path: %s}" % gate})
    host = env.start_host(pipeline, env.write("ss-d.yaml", h.deployment()), bootstrap, name="ss",
                          plugins_dir=h.TEST_PLUGINS_DIR, extra=["--no-watch"])
    h.wait_for(lambda: os.path.exists(gate + ".waiting") or host.poll() is not None, 60,
               "the step's create to wait")
    host.send_signal(signal.SIGHUP)
    os.remove(gate)
    line = "reload (SIGHUP (during start-up)): nothing changed"
    h.wait_for(lambda: host.poll() is not None or line in env.log(host), 60, line)
    assert host.poll() is None, (host.returncode, env.log(host))
    h.produce(bootstrap, "ss", [(None, b"x", [])])
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("ss", 1))
    assert env.stop(host) == 0, env.log(host)


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["sp:1", "sp-out:1", "sc:1", "sc-out:1", "ss:1", "ss-out:1"])
        sighup_while_starting(env, bootstrap)
        stuck_in_process(env, bootstrap)
        stuck_in_create(env, bootstrap)
    print("ok")


if __name__ == "__main__":
    main()
