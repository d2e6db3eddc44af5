"""A sink's broker refusing records for good (INVALID_RECORD, as for a null
key on a compacted topic) after the chain ran: each refused output goes to
the DLQ as that output, with its input's origin; the host goes on, commits
every input, and `dlq replay --to` sends the outputs where they belonged."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: in}
steps:
  - {kind: map, name: up, plugin: testkit, function: upper}
  - {kind: sink, name: out, stream_name: out}
"""

DEPLOYMENT = """pipeline:
  segments:
    - steps_config:
        in:
          bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]
          auto_offset_reset: earliest
          override_params: {session.timeout.ms: "6000"}
          dlq: {topic: in-dlq}
        out: {bootstrap_servers: ["${envvar:SINK_SERVERS}"]}
"""


def records(first, count):
    return [(b"k%d" % i, b"n%d" % i, [("trace", b"t%d" % i)]) for i in range(first, first + count)]


def main():
    with h.Env() as env:
        source = env.start_broker(["in:1", "in-dlq:1"])
        # The sink's cluster refuses its first produce request.
        sink = env.start_broker(["out:1"], extra=["--reject-produce", "1"])
        os.environ["SINK_SERVERS"] = sink
        config = env.write("d.yaml", DEPLOYMENT)
        host = env.start_host(env.write("p.yaml", PIPELINE), config, source,
                              plugins_dir=h.TEST_PLUGINS_DIR)
        inputs, outputs = h.partitions("in", 1), h.partitions("out", 1)
        h.produce(source, "in", records(0, 10))
        h.wait_committed_to_end(source, "pipeline-in", inputs)
        h.produce(source, "in", records(10, 10))
        h.wait_committed_to_end(source, "pipeline-in", inputs)
        assert env.stop(host) == 0, env.log(host)

        dlq = h.read_all(source, h.partitions("in-dlq", 1))
        written = {r.value for r in h.read_all(sink, outputs)}
        assert dlq, env.log(host)
        for r in dlq:
            hdrs = {k: v.decode() for k, v in r.headers}
            n = int(r.value[1:])
            assert r.value == b"N%d" % n and r.key == b"k%d" % n, r  # the output, not the input
            assert n < 10, n  # only the first request was refused
            assert hdrs["trace"] == "t%d" % n, hdrs
            assert hdrs["streams.error.record"] == "output", hdrs
            assert hdrs["streams.error.kind"] == "sink_rejected", hdrs
            assert hdrs["streams.error.step"] == "out", hdrs
            assert hdrs["streams.error.topic"] == "in", hdrs
            assert hdrs["streams.error.offset"] == str(n), hdrs  # its input's offset
            assert "refused" in hdrs["streams.error.message"], hdrs
            assert r.value not in written, r.value
        assert len(dlq) + len(written) == 20, (len(dlq), sorted(written))

        # Outputs are not inputs: replayed only to a topic named with --to.
        env_vars = dict(os.environ, BOOTSTRAP_SERVERS=source)
        result = h.run_cli(["dlq", "replay", "--config", config], env=env_vars)
        assert result.returncode == 0, result.stderr
        assert f"replayed 0 of {len(dlq)}" in result.stdout, result.stdout
        assert "outputs a sink's broker refused" in result.stdout, result.stdout
        result = h.run_cli(["dlq", "replay", "--config", config, "--to", "out",
                            "--target-brokers", sink], env=env_vars)
        assert result.returncode == 0, result.stderr
        assert f"replayed {len(dlq)} of {len(dlq)}" in result.stdout, result.stdout
        written = sorted(r.value for r in h.read_all(sink, outputs))
        assert written == sorted(b"N%d" % i for i in range(20)), written
    print("ok")


if __name__ == "__main__":
    main()
