"""The dead-letter queue on the dev broker: every kind of failure (parse,
schema, plugin error, plugin throw, serializer, a sink refusing a record),
after a broadcast, lands in the DLQ with its error headers while the other
branch still gets its output; every input is committed; `dlq replay` sends
the records back without error headers and, once the cause is fixed, they
are processed; `dlq show` lists them and counts them by step and kind. Error
limits stop the host with a clear reason."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

SCHEMA = '{"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}'

PIPELINE = """source: {name: in, stream_name: numbers}
steps:
  - {kind: parser, name: parse, format: json, schema: schema.json}
  - kind: broadcast
    name: fan
    branches:
      copy: [{kind: sink, name: copy_out, stream_name: copy}]
      main:
        - {kind: map, name: check, plugin: testkit, function: picky, config: {fixed: %s}}
        - {kind: serializer, name: encode, format: json}
        - {kind: sink, name: out, stream_name: out}
"""

DEPLOYMENT = """pipeline:
  segments:
    - steps_config:
        in:
          bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]
          auto_offset_reset: earliest
          override_params: {session.timeout.ms: "6000"}
          dlq: {topic: numbers-dlq}
        copy_out: {bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]}
        out:
          bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]
          override_params: {message.max.bytes: "%d"}
"""

PAD = "x" * 3000
INPUTS = [  # (value, expected step, kind) ; None: processed
    ('{"n": 1}', None, None),
    ('{bad json', "parse", "invalid_input"),
    ('{"n": "two"}', "parse", "invalid_input"),
    ('{"n": 3, "tag": "bad"}', "check", "processing"),
    ('{"n": 4, "tag": "boom"}', "check", "exception"),
    ('{"n": 5, "tag": "garble"}', "encode", "invalid_input"),
    ('{"n": 6, "pad": "%s"}' % PAD, "out", "sink_rejected"),
    ('{"n": 7}', None, None),
]


def numbers(bootstrap, topic):
    return sorted(json.loads(r.value)["n"] for r in h.read_all(bootstrap, h.partitions(topic, 1)))


def dlq_records(bootstrap):
    return h.read_all(bootstrap, h.partitions("numbers-dlq", 1))


def check_dlq(bootstrap):
    records = dlq_records(bootstrap)
    failed = [(i, v, step, kind) for i, (v, step, kind) in enumerate(INPUTS) if step]
    assert len(records) == len(failed), [r.headers for r in records]
    by_offset = {}
    for r in records:
        hdrs = {k: v.decode() for k, v in r.headers}
        by_offset[int(hdrs["streams.error.offset"])] = (r, hdrs)
    for offset, value, step, kind in failed:
        r, hdrs = by_offset[offset]
        assert r.value.decode() == value, (offset, r.value[:80])
        assert r.key == b"k%d" % offset, r.key
        assert hdrs["trace"] == "t%d" % offset, hdrs
        assert hdrs["streams.error.step"] == step, hdrs
        assert hdrs["streams.error.kind"] == kind, hdrs
        assert hdrs["streams.error.topic"] == "numbers", hdrs
        assert hdrs["streams.error.partition"] == "0", hdrs
        assert hdrs["streams.error.record"] == "input", hdrs
        assert int(hdrs["streams.error.time_ms"]) > 1.7e12, hdrs
        assert hdrs["streams.error.message"], hdrs
        if step == "check":
            assert hdrs["streams.error.plugin"] == "testkit", hdrs
            assert hdrs["streams.error.plugin_version"] == "2.3.4", hdrs
        else:
            assert "streams.error.plugin" not in hdrs, hdrs
    message = {by_offset[o][1]["streams.error.step"]: by_offset[o][1]["streams.error.message"]
               for o in by_offset}
    assert "not valid JSON" in message["parse"] or "schema" in message["parse"], message
    assert "too large" in message["out"].lower(), message


def replay(env, config, *args):
    result = h.run_cli(["dlq", "replay", "--config", config, *args],
                       env=dict(os.environ, BOOTSTRAP_SERVERS=env.bootstrap))
    assert result.returncode == 0, result.stderr
    return result.stdout


def replay_takes_connection_settings(env, config):
    """The source's TLS/SASL settings reach both of the replay's clients, as
    -X ones do, --target-setting ones the producer only; a password is never
    printed. The dev broker speaks no SASL,
    so each client's refused handshake shows that it tried."""
    secured = env.write("secured.yaml", open(config).read().replace(
        'override_params: {session.timeout.ms: "6000"}',
        'override_params: {session.timeout.ms: "6000", security.protocol: sasl_plaintext, '
        'sasl.mechanisms: PLAIN, sasl.username: reader, '
        'sasl.password: "${envvar:KAFKA_PASSWORD}"}'))
    environ = dict(os.environ, BOOTSTRAP_SERVERS=env.bootstrap, KAFKA_PASSWORD="hunter2")
    for args in (["--config", secured],
                 ["--brokers", env.bootstrap, "--dlq-topic", "numbers-dlq",
                  "-X", "security.protocol=sasl_plaintext", "-X", "sasl.mechanisms=PLAIN",
                  "-X", "sasl.username=reader", "-X", "sasl.password=hunter2"]):
        result = h.run_cli(["dlq", "replay", "--timeout-ms", "2000", *args], env=environ)
        assert result.returncode == 1, (args, result)
        for client in ("consumer", "producer"):
            assert re.search(client + r"-\d+: .*SASL authentication", result.stderr), \
                (client, result.stderr)
        assert "hunter2" not in result.stdout + result.stderr, result
    # --target-setting: the producer's alone (a target cluster with other credentials).
    result = h.run_cli(["dlq", "replay", "--timeout-ms", "2000", "--config", config,
                        "--target-setting", "security.protocol=sasl_plaintext",
                        "--target-setting", "sasl.mechanisms=PLAIN",
                        "--target-setting", "sasl.username=writer",
                        "--target-setting", "sasl.password=hunter2"], env=environ)
    assert result.returncode == 1, result
    assert result.stdout.startswith("sent 6 of 6 ") and "; 6 not delivered" in result.stdout, \
        result
    assert re.search(r"producer-\d+: .*SASL authentication", result.stderr), result.stderr
    assert not re.search(r"consumer-\d+: .*SASL", result.stderr), result.stderr
    assert "hunter2" not in result.stdout + result.stderr, result
    # A misspelt setting is refused before any client starts, its value unprinted.
    result = h.run_cli(["dlq", "replay", "--config", config, "-X", "sasl.pasword=hunter2"],
                       env=environ)
    assert result.returncode == 2 and "sasl.pasword" in result.stderr, result
    assert "hunter2" not in result.stderr, result
    result = h.run_cli(["dlq", "replay", "--config", config, "-X", "sasl.password"], env=environ)
    assert result.returncode == 2 and "expected KEY=VALUE" in result.stderr, result


def show(env, config, *args):
    result = h.run_cli(["dlq", "show", "--config", config, *args],
                       env=dict(os.environ, BOOTSTRAP_SERVERS=env.bootstrap))
    assert result.returncode == 0, result.stderr
    return result


def show_the_dlq(env, config):
    """`dlq show`: a line a record, then the count by step and kind; JSON
    with the headers as fields; filters and a limit that still count all."""
    lines = show(env, config).stdout.splitlines()
    assert len(lines) == 7, lines
    assert lines[-1] == ("6 dead-letter record(s) in numbers-dlq, shown 6: step 'check' "
                         "exception 1, step 'check' processing 1, step 'encode' invalid_input 1, "
                         "step 'out' sink_rejected 1, step 'parse' invalid_input 2"), lines[-1]
    by_input = {int(re.search(r" from numbers\[0\]@(\d+) ", line).group(1)): line
                for line in lines[:-1]}
    assert sorted(by_input) == [1, 2, 3, 4, 5, 6], lines
    assert re.fullmatch(r'numbers-dlq\[0\]@\d+  from numbers\[0\]@3  step check  processing  '
                        r'20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z  ".+"  '
                        r'value "\{\\"n\\": 3, \\"tag\\": \\"bad\\"\}"', by_input[3]), by_input[3]
    assert by_input[6].endswith(f"... ({len(INPUTS[6][0])} bytes)"), by_input[6]

    result = show(env, config, "--format", "json", "--kind", "invalid_input")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["step"], r["offset"]) for r in records] == \
        [("parse", 1), ("parse", 2), ("encode", 5)], records
    assert records[0]["key"] == "k1" and records[0]["value"] == "{bad json", records[0]
    assert records[0]["headers"] == {"trace": "t1"} and records[0]["partition"] == 0, records[0]
    assert records[0]["kind"] == "invalid_input" and records[0]["topic"] == "numbers", records[0]
    assert "shown 3" in result.stderr and "; 3 of other kinds or steps" in result.stderr, \
        result.stderr

    lines = show(env, config, "--limit", "1").stdout.splitlines()
    assert len(lines) == 2 and lines[-1].startswith("6 dead-letter record(s) in numbers-dlq, "
                                                    "shown 1: "), lines


def limits_stop_the_host(env, topic, values, limits, message, stopped_at):
    """error_limits stop the host at input `stopped_at`, uncommitted."""
    bootstrap = env.bootstrap
    h.produce(bootstrap, topic, [(None, v, []) for v in values])
    pipeline = env.write(topic + ".yaml", """source: {name: in, stream_name: %s}
steps:
  - {kind: parser, name: parse, format: json}
  - {kind: sink, name: out, stream_name: %s-out}
""" % (topic, topic))
    config = env.write(topic + "-d.yaml", h.deployment(source_extra=(
        "dlq: {topic: %s-dlq}\nerror_limits: %s" % (topic, limits))))
    host = env.start_host(pipeline, config, bootstrap, name=topic)
    status = h.wait_for(lambda: host.poll() is not None and (host.returncode,), 60,
                        "the host to stop at the error limit")[0]
    log = env.log(host)
    assert status == 1, (status, log)
    assert f"too many failed records: {message}; stopped at {topic}[0]@{stopped_at}" in log, log
    committed = h.committed_offsets(bootstrap, "pipeline-in", h.partitions(topic, 1))[0]
    assert committed <= stopped_at, committed


def main():
    with h.Env() as env:
        env.bootstrap = bootstrap = env.start_broker(
            ["numbers:1", "numbers-dlq:1", "copy:1", "out:1", "strict:1", "strict-dlq:1",
             "ratio:1", "ratio-dlq:1"])
        env.write("schema.json", SCHEMA)
        h.produce(bootstrap, "numbers", [(b"k%d" % i, v.encode(), [("trace", b"t%d" % i)])
                                         for i, (v, _, _) in enumerate(INPUTS)])

        # 1. Every failure goes to the DLQ; every input is committed.
        pipeline = env.write("p.yaml", PIPELINE % "false")
        config = env.write("d.yaml", DEPLOYMENT % 2000)
        host = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR)
        h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("numbers", 1))
        assert env.stop(host) == 0, env.log(host)
        assert "sent to the dead-letter queue 6" in env.log(host), env.log(host)
        check_dlq(bootstrap)
        assert numbers(bootstrap, "out") == [1, 7]
        assert numbers(bootstrap, "copy") == [1, 3, 4, 5, 6, 7]
        show_the_dlq(env, config)

        # 2. The cause is fixed; replaying the plugin's failures processes them.
        pipeline = env.write("p.yaml", PIPELINE % "true")
        config = env.write("d.yaml", DEPLOYMENT % 100000)
        host = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                              name="fixed")
        summary = replay(env, config, "--step", "check")
        assert "replayed 2 of 6 dead-letter record(s) from numbers-dlq to numbers (2)" in summary, \
            summary
        assert "skipped 4 of other steps" in summary, summary
        h.wait_for(lambda: numbers(bootstrap, "out") == [1, 3, 4, 7], 60, "3 and 4 processed")

        summary = replay(env, config, "--kind", "invalid_input", "--kind", "sink_rejected",
                         "--step", "encode", "--step", "out")
        assert "replayed 2 of 6" in summary, summary
        h.wait_for(lambda: numbers(bootstrap, "out") == [1, 3, 4, 5, 6, 7], 60,
                   "5 and 6 processed")
        replayed = h.read_all(bootstrap, h.partitions("numbers", 1))[len(INPUTS):]
        assert len(replayed) == 4, replayed
        for r in replayed:
            names = [k for k, _ in r.headers]
            assert names == ["trace"], names  # error headers stripped, the original kept
        h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("numbers", 1))
        assert env.stop(host) == 0, env.log(host)
        assert len(dlq_records(bootstrap)) == 6  # nothing failed again

        # 3. With --group, a run reads only what the group has not read yet.
        summary = replay(env, config, "--group", "g", "--kind", "none")
        assert "replayed 0 of 6" in summary and "skipped 6 of other kinds" in summary, summary
        summary = replay(env, config, "--group", "g")
        assert "replayed 0 of 0" in summary, summary
        assert show(env, config, "--group", "g").stdout == \
            "0 dead-letter record(s) in numbers-dlq after group g, shown 0\n"

        replay_takes_connection_settings(env, config)

        limits_stop_the_host(
            env, "strict", (b'{"n": 1}', b"x", b"y", b"z", b'{"n": 2}'),
            "{max_consecutive_failures: 3}",
            "3 inputs in a row failed (error_limits.max_consecutive_failures is 3)", 3)
        limits_stop_the_host(
            env, "ratio", (b'{"n": 1}', b"x", b'{"n": 2}', b"y", b'{"n": 3}', b"z", b"w", b"v"),
            "{max_failure_ratio: 0.5, ratio_window: 4}",
            "3 of the last 4 inputs failed (0.75; error_limits.max_failure_ratio is 0.5)", 6)
    print("ok")


if __name__ == "__main__":
    main()
