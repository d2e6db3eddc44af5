"""`streams-host validate --topics`: the topics a segment reads and writes,
looked up on the dev broker with nothing created: a missing source, sink or
dead-letter queue and a changelog of the wrong partition count fail it
(exit 1), a missing changelog or topic into the next segment is one the
host creates, and brokers that do not answer are exit 2."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

COUNTER = os.path.join(h.SOURCE_DIR, "configs", "counter")
SPLIT = """name: split
source: {name: in, stream_name: raw}
steps:
  - {kind: map, name: up, plugin: testkit, function: upper}
  - {kind: map, name: again, plugin: testkit, function: upper}
  - {kind: sink, name: out, stream_name: cooked}
"""
SPLIT_DEPLOYMENT = """pipeline:
  segments:
    - steps_config:
        in:
          bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]
          dlq: {topic: split-dlq}
    - steps_config:
        again: {starts_segment: true}
        out: {bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]}
"""


def validate(bootstrap, config, pipeline, *extra):
    plugins = h.PLUGINS_DIR if pipeline.startswith(COUNTER) else h.TEST_PLUGINS_DIR
    result = h.run_cli(["validate", "--topics", "--plugins-dir", plugins,
                        "--config", config, *extra, pipeline],
                       env={**os.environ, "BOOTSTRAP_SERVERS": bootstrap})
    assert result.stdout.startswith("files ok: "), result.stdout
    lines = [line.strip() for line in result.stdout.splitlines()[1:]]
    return result.returncode, lines, result.stderr


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["clicks:2", "counter-count-changelog:3", "raw:3"])
        at = f"on {bootstrap}"
        counter = (os.path.join(COUNTER, "deployment.yaml"), os.path.join(COUNTER, "pipeline.yaml"))
        status, lines, err = validate(bootstrap, *counter)
        assert status == 1, (lines, err)
        assert lines == [
            f"source clicks {at}: 2 partition(s)",
            f"sink mysink click-counts {at}: missing: the host stops at its first output; "
            "create it",
            f"changelog of count counter-count-changelog {at}: 3 partition(s); the host refuses "
            "to start: it needs 2 partition(s), one per partition of the source topic"], lines
        assert "a topic the host needs is missing or unfit" in err, err

        split = (env.write("split-d.yaml", SPLIT_DEPLOYMENT), env.write("split.yaml", SPLIT))
        status, lines, err = validate(bootstrap, *split, "--segment-id", "0")
        assert status == 1, (lines, err)
        assert lines == [
            f"source raw {at}: 3 partition(s)",
            f"into the next segment split-again {at}: missing: the host creates it with 3 "
            "partition(s)",
            f"dead-letter queue split-dlq {at}: missing: the host stops at its first dead letter; "
            "create it"], lines
        status, lines, err = validate(bootstrap, *split, "--segment-id", "1")
        assert status == 1, (lines, err)
        assert lines[0] == f"source split-again {at}: missing: the host joins no group until it " \
            "exists; create it", lines

        # Nothing was created by looking.
        status, lines, _ = validate(bootstrap, *counter)
        assert f"sink mysink click-counts {at}: missing" in lines[1], lines
        assert not any(line.startswith("ok") for line in lines), lines

        # Everything there (a changelog missing is the host's to create).
        fine = env.start_broker(["clicks:2", "click-counts:2"])
        status, lines, err = validate(fine, *counter)
        assert status == 0, (lines, err)
        assert lines[-1] == "ok: the files and the 3 topic(s)", lines
        assert lines[-2] == f"changelog of count counter-count-changelog on {fine}: missing: the " \
            "host creates it (compacted, 2 partition(s))", lines

        status, lines, err = validate("127.0.0.1:1", *counter, "--timeout-ms", "1500")
        assert status == 2 and "error: listing the cluster's topics: " in err and \
            "(on 127.0.0.1:1)" in err, (status, err)
    print("ok")


if __name__ == "__main__":
    main()
