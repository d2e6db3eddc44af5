"""Errors reported to Sentry (the deployment's `sentry_sdk_config.dsn`), to a
real HTTP server on loopback standing where Sentry's intake would be; each
envelope received is read with Sentry's own SDK (python3-sentry-sdk), and
the path it was sent to is the one that SDK computes from the DSN.

A Python map raises KeyError on three records and ValueError on one: each
issue is one event (the same one again within a minute is only counted),
an envelope POSTed to /api/PROJECT/envelope/ with the DSN's key in
X-Sentry-Auth, its exception type, the traceback, the step, plugin, error
kind, topic and pipeline as tags; the records are in the DLQ and the rest
delivered. With error_policy fail, the ERROR line that stops the pipeline
reaches Sentry before the host exits. A 429 pauses sending for its
Retry-After: the next event is not sent. A plugin that segfaults cannot be
reported as it crashes: the next start reports the crash journal's entry,
level fatal, and sends it before it runs on (and crashes again)."""
import os
import signal
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
import stores  # noqa: E402
from sentry_sdk.envelope import Envelope  # noqa: E402
from sentry_sdk.utils import Dsn  # noqa: E402

TRANSFORMS = '''
def check(msg):
    if msg.payload.startswith(b"key"):
        raise KeyError(msg.payload.decode())
    if msg.payload.startswith(b"val"):
        raise ValueError("not a value: " + msg.payload.decode())
    return msg.payload
'''

PIPELINE = """source: {name: in, stream_name: s-in}
steps:
  - {kind: map, name: check, python: transforms.check}
  - {kind: sink, name: out, stream_name: s-out}
"""


def envelopes(path):
    """The envelopes received, read by Sentry's own SDK (python3-sentry-sdk):
    (header, item header, event) each."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    assert len(lines) % 3 == 0, lines  # an envelope is 3 lines: header, item header, event
    out = []
    for i in range(0, len(lines), 3):
        envelope = Envelope.deserialize(b"".join(lines[i:i + 3]))
        assert len(envelope.items) == 1, envelope
        event = envelope.get_event()
        assert event is not None, envelope
        out.append((envelope.headers, envelope.items[0].headers, event))
    return out


def run_host(env, bootstrap, receiver, name, source_extra, records, source="in"):
    dsn = f"http://pubkey@127.0.0.1:{receiver.port}/42"
    config = env.write(f"{name}.yaml", f"sentry_sdk_config: {{dsn: \"{dsn}\", environment: test}}\n"
                       + h.deployment(source=source, sink="out", source_extra=source_extra))
    host = env.start_host(env.path(f"{source}.yaml"), config, bootstrap, name=name,
                          extra=["-n", name])
    h.produce(bootstrap, f"s-{source}", [(None, value, []) for value in records])
    return host


def record_errors(env, bootstrap, receiver):
    host = run_host(env, bootstrap, receiver, "dlq", "dlq: {topic: s-dlq}",
                    [b"ok1", b"key1", b"key2", b"key3", b"val1", b"ok2"])
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("s-in", 1))
    log = env.log(host)
    assert env.stop(host) == 0, env.log(host)
    assert "errors are reported to Sentry: http://127.0.0.1:" in log, log
    got = envelopes(receiver.out)
    events = {e["exception"]["values"][0]["type"]: (header, item, e) for header, item, e in got}
    assert sorted(events) == ["KeyError", "ValueError"], got  # three KeyErrors, one issue
    header, item, event = events["ValueError"]
    assert header["event_id"] == event["event_id"] and len(event["event_id"]) == 32, header
    assert header["dsn"].startswith("http://pubkey@127.0.0.1:"), header
    assert item["type"] == "event" and item["length"] > 0, item
    assert event["level"] == "error" and event["environment"] == "test", event
    assert event["exception"]["values"][0]["value"] == "not a value: val1", event
    assert event["message"]["formatted"] == "ValueError: not a value: val1", event
    assert event["tags"] == {"pipeline": "dlq", "step": "check", "plugin": "python",
                             "error": "exception", "topic": "s-in"}, event
    assert "transforms.py" in event["extra"]["traceback"], event
    assert (event["extra"]["partition"], event["extra"]["offset"]) == ("0", "4"), event  # val1
    assert event["fingerprint"] == ["check", "exception", "ValueError"], event
    # Where Sentry's SDK would send an envelope for this DSN.
    expected_path = urllib.parse.urlsplit(
        Dsn(header["dsn"]).to_auth().get_api_url(type="envelope")).path
    with open(receiver.out + ".paths") as f:
        assert set(f.read().split()) == {expected_path} == {"/api/42/envelope/"}
    with open(receiver.out + ".sources") as f:
        auth = f.read().splitlines()
    assert all(a.startswith("Sentry sentry_version=7, sentry_client=streams-host/") and
               a.endswith(", sentry_key=pubkey") for a in auth), auth
    result = h.run_cli(["validate", "--config", env.path("dlq.yaml"), "--plugins-dir",
                        h.PLUGINS_DIR, env.path("in.yaml")],
                       env=dict(os.environ, BOOTSTRAP_SERVERS=bootstrap))
    assert result.returncode == 0, result
    assert result.stdout.endswith(
        f"; errors to Sentry: http://127.0.0.1:{receiver.port}/api/42/envelope/\n"), result
    dlq = h.read_all(bootstrap, h.partitions("s-dlq", 1))
    assert sorted(r.value for r in dlq) == [b"key1", b"key2", b"key3", b"val1"], dlq
    out = h.read_all(bootstrap, h.partitions("s-out", 1))
    assert [r.value for r in out] == [b"ok1", b"ok2"], out


def a_pause(env, bootstrap):
    receiver = stores.HttpReceiver(env, env.path("busy.out"), busy=1)
    host = run_host(env, bootstrap, receiver, "busy", "dlq: {topic: s-dlq}", [b"key9", b"val9"],
                    source="in2")
    h.wait_committed_to_end(bootstrap, "pipeline-in2", h.partitions("s-in2", 1))
    h.wait_for(lambda: "HTTP 429, paused for 30 s" in env.log(host), 30, "the 429 to be logged")
    assert env.stop(host) == 0, env.log(host)
    assert envelopes(receiver.out) == [], envelopes(receiver.out)  # the second waited it out


def the_error_that_stops(env, bootstrap, receiver):
    before = len(envelopes(receiver.out))
    host = run_host(env, bootstrap, receiver, "fail", "error_policy: fail", [b"val2"])
    code = h.wait_for(lambda: host.poll() is not None and (host.returncode,), 60,
                      "the host to stop at the failed record")[0]
    assert code != 0, env.log(host)
    events = [e for _, _, e in envelopes(receiver.out)[before:]]
    stops = [e for e in events
             if "error_policy is fail, so the pipeline stops here" in e["message"]["formatted"]]
    assert len(stops) == 1, (events, env.log(host))
    # The line's fields: step, kind and topic are tags; where in the topic is context.
    assert stops[0]["tags"] == {"pipeline": "fail", "step": "check", "error": "exception",
                                "topic": "s-in"}, stops[0]
    assert stops[0]["extra"]["partition"] == "0" and stops[0]["extra"]["offset"] == "6", stops[0]
    # Its issue is its text without the numbers: the next stop, at another offset, is the same.
    [issue] = stops[0]["fingerprint"]
    assert "s-in[<n>]@<n>" in issue and "@6" not in issue, stops[0]


CRASHING = """source: {name: in, stream_name: c-in}
steps:
  - {kind: map, name: crash, plugin: testkit, function: crash, config: {on: poison, how: segv}}
  - {kind: sink, name: out, stream_name: c-out}
"""


def a_crash(env, bootstrap, receiver):
    dsn = f"http://pubkey@127.0.0.1:{receiver.port}/42"
    config = env.write("crash.yaml", f"sentry_sdk_config: {{dsn: \"{dsn}\"}}\n"
                       + h.deployment(source="in", sink="out"))
    pipeline = env.write("crash-p.yaml", CRASHING)
    h.produce(bootstrap, "c-in", [(None, b"poison", [])])
    before = len(envelopes(receiver.out))
    for run in range(2):  # crashes, then reports that and crashes again
        host = env.start_host(pipeline, config, bootstrap, name=f"crash{run}",
                              plugins_dir=h.TEST_PLUGINS_DIR)
        code = h.wait_for(lambda: host.poll() is not None and (host.returncode,), 60,
                          "the host to crash")[0]
        assert code == -signal.SIGSEGV, env.log(host)
    events = [e for _, _, e in envelopes(receiver.out)[before:]]
    assert len(events) == 1, events
    event = events[0]
    assert event["level"] == "fatal", event
    assert event["exception"]["values"][0]["type"] == "SIGSEGV", event
    assert "c-in[0]@0 crashed the host 1 time(s), last with SIGSEGV in step 'crash'" in \
        event["message"]["formatted"], event
    assert event["tags"]["step"] == "crash" and event["tags"]["plugin"] == "testkit", event


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["s-in:1", "s-in2:1", "s-out:1", "s-dlq:1", "c-in:1",
                                      "c-out:1"])
        env.write("in.yaml", PIPELINE)
        env.write("in2.yaml", PIPELINE.replace("{name: in, stream_name: s-in}",
                                               "{name: in2, stream_name: s-in2}"))
        env.write("transforms.py", TRANSFORMS)
        receiver = stores.HttpReceiver(env, env.path("sentry.out"), header="X-Sentry-Auth")
        record_errors(env, bootstrap, receiver)
        the_error_that_stops(env, bootstrap, receiver)
        a_pause(env, bootstrap)
        a_crash(env, bootstrap, receiver)
    print("ok")


if __name__ == "__main__":
    main()
