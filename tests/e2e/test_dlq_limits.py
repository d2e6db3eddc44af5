"""The dead-letter queue at its limits.
- Records larger than the sink's and the DLQ's message.max.bytes (2,000):
  the sink refuses the output, the DLQ the whole record; it lands there as
  its error headers alone (streams.error.value_omitted and others say what
  was left out) and the pipeline goes on. (The host stopped, on every
  restart.)
- The DLQ's cluster down: a failed record cannot be delivered; after
  --readiness-commit-age-ms /readyz fails naming it, a log line says so,
  and streams_dead_letters_total counts nothing until the DLQ is back."""
import os
import signal
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: %(topic)s}
steps:
  - {kind: map, name: check, plugin: testkit, function: picky}
  - {kind: sink, name: out, stream_name: %(topic)s-out}
"""
DEPLOYMENT = """pipeline:
  segments:
    - steps_config:
        in:
          bootstrap_servers: ["%(source)s"]
          auto_offset_reset: earliest
          override_params: {session.timeout.ms: "6000"}
          dlq:
            topic: %(topic)s-dlq
            bootstrap_servers: ["%(dlq)s"]
            override_params: {message.max.bytes: "2000"}
        out:
          bootstrap_servers: ["%(source)s"]
          override_params: {message.max.bytes: "2000"}
"""


def get(port, target):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{target}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def start(env, topic, source, dlq, extra=()):
    pipeline = env.write(f"{topic}.yaml", PIPELINE % {"topic": topic})
    config = env.write(f"{topic}-d.yaml",
                       DEPLOYMENT % {"topic": topic, "source": source, "dlq": dlq})
    return env.start_host(pipeline, config, source, name=topic, plugins_dir=h.TEST_PLUGINS_DIR,
                          extra=["--admin-port", "0", *extra])


def oversized(env, bootstrap):
    h.produce(bootstrap, "big", [
        (b"k0", b"small", [("trace", b"t")]),
        (b"k1", b"x" * 5000, [("trace", b"t")]),  # the sink refuses its output
        (b"k2", b"bad" + b"x" * 5000, [("trace", b"t")]),  # fails, and is too large
        (b"k3", b"after", []),
    ])
    host = start(env, "big", bootstrap, bootstrap)
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("big", 1))
    assert host.poll() is None, env.log(host)
    assert [r.value for r in h.read_all(bootstrap, h.partitions("big-out", 1))] == \
        [b"small", b"after"]
    dead = h.read_all(bootstrap, h.partitions("big-dlq", 1))
    assert len(dead) == 2, dead
    for record, kind, record_kind, size in ((dead[0], "sink_rejected", "input", 5000),
                                            (dead[1], "processing", "input", 5003)):
        headers = {k: v.decode() for k, v in record.headers}
        assert record.value is None and record.key is None, record
        assert "trace" not in headers, headers
        assert headers["streams.error.kind"] == kind, headers
        assert headers["streams.error.record"] == record_kind, headers
        assert headers["streams.error.value_omitted"] == str(size), headers
        assert headers["streams.error.headers_omitted"] == "1", headers
        assert "MSG_SIZE_TOO_LARGE" in headers["streams.error.omitted_because"] or \
            "too large" in headers["streams.error.omitted_because"], headers
    assert env.stop(host) == 0, env.log(host)
    replay = h.run_cli(["dlq", "replay", "--config", env.path("big-d.yaml")])
    assert replay.returncode == 0, replay.stderr
    assert "skipped 2 sent without their key, value and headers" in replay.stdout, replay.stdout


def dlq_outage(env, bootstrap):
    dlq_servers = env.start_broker(["down-dlq:1"])
    dlq_broker = env.procs[-1]
    host = start(env, "down", bootstrap, dlq_servers, ["--readiness-commit-age-ms", "2000"])
    port = h.admin_port(env, host)
    h.produce(bootstrap, "down", [(None, b"ok", [])])
    h.wait_for(lambda: get(port, "/readyz")[0] == 200, 60, "/readyz ready")
    dlq_broker.send_signal(signal.SIGUSR1)
    h.wait_for(lambda: "brokers down" in env.output(dlq_broker), 10,
               "the DLQ's cluster down")
    h.produce(bootstrap, "down", [(None, b"bad", [])])
    status, body = h.wait_for(lambda: (lambda r: r[0] == 503 and r)(get(port, "/readyz")), 60,
                              "/readyz to fail")
    assert "the dead-letter queue down-dlq has had outputs without a delivery report" in body, body
    h.wait_for(lambda: "dead-letter queue down-dlq: 1 output(s) without a delivery report" in
               env.log(host), 60, "the DLQ outage in the log")
    assert 'streams_dead_letters_total{pipeline="in"} 0' in get(port, "/metrics")[1]
    dlq_broker.send_signal(signal.SIGUSR2)
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("down", 1), timeout=120)
    assert 'streams_dead_letters_total{pipeline="in"} 1' in get(port, "/metrics")[1]
    h.wait_for(lambda: get(port, "/readyz")[0] == 200, 60, "/readyz ready again")
    assert env.stop(host) == 0, env.log(host)


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["big:1", "big-out:1", "big-dlq:1", "down:1", "down-out:1"])
        oversized(env, bootstrap)
        dlq_outage(env, bootstrap)
    print("ok")


if __name__ == "__main__":
    main()
