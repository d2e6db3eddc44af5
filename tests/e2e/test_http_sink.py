"""The HTTP sink plugin against a real HTTP server: simple_map_filter's
output lands there exactly, row by row; rows the server refuses (400) go to
the DLQ alone, with the status and the server's reason, and the rest of
their batches is written; a config the plugin refuses fails `validate`,
naming the file and the key."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
import stores  # noqa: E402

PARTITIONS = 4

PIPELINE = stores.STEPS + """  - kind: sink
    name: rows
    plugin: http_sink
    batch_size: 50
    batch_time_ms: 20
    config: {format: ndjson, timeout_ms: 5000}
"""

DEPLOYMENT = stores.deployment(source_extra="""          dlq: {topic: metrics-dlq}
""", sinks="""        rows:
          config: {url: "${envvar:SINK_URL}"}
""")


def run_local(env, bootstrap, receiver, name, inputs):
    """The pipeline through the local runtime (the same plugin) into
    `receiver`, over `inputs`; the finished process."""
    os.environ["SINK_URL"] = f"http://127.0.0.1:{receiver.port}/ingest"
    lines = env.write(name + ".jsonl", "\n".join(v.decode() for v in inputs) + "\n")
    return subprocess.run([h.HOST, "run", "--runtime", "local", "--config",
                           env.write("d.yaml", DEPLOYMENT), "--plugins-dir", h.PLUGINS_DIR,
                           "--input", lines, env.write("p.yaml", PIPELINE)],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, BOOTSTRAP_SERVERS=bootstrap))


def rate_limited(env, bootstrap, inputs):
    """A 429 with Retry-After: 2: the sink sends the batch again once two
    seconds have passed, not at the host's backoff (100 ms), and every row
    arrives (through the local runtime, which writes with the same plugin)."""
    out = env.path("limited.ndjson")
    receiver = stores.HttpReceiver(env, out, busy=1, retry_after=2)
    run = run_local(env, bootstrap, receiver, "limited", inputs[:200])
    refused = [v for v in inputs[:200] if b"reject-me" in v]
    assert run.returncode == (1 if refused else 0), run.stderr
    assert re.search(r"not written, attempt 1, again in 2000 ms, as the store asked: HTTP 429 "
                     r"from http://\S+: ", run.stderr), run.stderr
    with open(out + ".answers") as f:
        answers = [(int(status), float(at)) for status, at in map(str.split, f)]
    assert [status for status, _ in answers].count(429) == 1, answers
    assert answers[0][0] == 429 and answers[1][0] == 200, answers
    assert answers[1][1] - answers[0][1] >= 1.9, answers  # not before the Retry-After
    if not refused:
        assert sorted(stores.rows(out)) == sorted(stores.expected_rows(inputs[:200])), run.stderr


def main():
    with h.Env() as env:
        out = env.path("received.ndjson")
        receiver = stores.HttpReceiver(env, out, reject="reject-me")
        os.environ["SINK_URL"] = f"http://127.0.0.1:{receiver.port}/ingest"
        bootstrap = env.start_broker([f"metrics:{PARTITIONS}", "metrics-dlq:1"])
        # A config the plugin refuses is an error of loading, naming the file and key.
        bad = env.write("bad.yaml", PIPELINE.replace("format: ndjson", "format: xml"))
        check = h.run_cli(["validate", "--config", env.write("d.yaml", DEPLOYMENT),
                           "--plugins-dir", h.PLUGINS_DIR, bad],
                          env=dict(os.environ, BOOTSTRAP_SERVERS=bootstrap))
        assert check.returncode == 2, check.stdout
        assert f"{bad}:" in check.stderr and "steps[2].config: sink 'rows'" in check.stderr \
            and "config.format: expected ndjson or json_array" in check.stderr, check.stderr
        inputs = stores.metric_inputs(2000, reject_every=97)
        h.produce(bootstrap, "metrics", [(b"k%d" % i, v, []) for i, v in enumerate(inputs)])
        host = env.start_host(env.write("p.yaml", PIPELINE), env.write("d.yaml", DEPLOYMENT),
                              bootstrap)
        tps = h.partitions("metrics", PARTITIONS)
        h.wait_committed_to_end(bootstrap, "pipeline-in", tps, timeout=120)
        assert env.stop(host) == 0, env.log(host)

        wanted = stores.expected_rows(inputs, refused="reject-me")
        got = stores.rows(out)
        assert sorted(got) == sorted(wanted), stores.diff(got, wanted)

        dlq = h.read_all(bootstrap, h.partitions("metrics-dlq", 1))
        refused = [json.loads(r.value)["name"] for r in dlq]
        assert refused and all("reject-me" in name for name in refused), refused
        assert len(refused) == sum(1 for v in inputs if b"reject-me" in v), refused
        for r in dlq:
            hdrs = {k: v.decode() for k, v in r.headers}
            assert hdrs["streams.error.kind"] == "sink_rejected", hdrs
            assert hdrs["streams.error.step"] == "rows", hdrs
            message = hdrs["streams.error.message"]
            assert "HTTP 400" in message and "refused row:" in message, message

        # The local runtime writes through the same plugin, and fails on a
        # refused row rather than dropping it.
        local_out = env.path("local.ndjson")
        local = stores.HttpReceiver(env, local_out, reject="reject-me")
        run = run_local(env, bootstrap, local, "input", inputs[:300])
        assert run.returncode == 1, run.stderr
        assert "refused an output: sink 'rows'" in run.stderr, run.stderr
        assert sorted(stores.rows(local_out)) == sorted(
            stores.expected_rows(inputs[:300], refused="reject-me")), run.stderr
        rate_limited(env, bootstrap, stores.metric_inputs(200))
        print(f"{len(got)} rows, {len(refused)} refused: ok")


if __name__ == "__main__":
    main()
