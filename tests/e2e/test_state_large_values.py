"""A state value as large as `state.max_value_bytes` allows (its default,
1 MiB) is a value like any other: its changelog record (key, stamp, write
time and value: over librdkafka's default message.max.bytes of 1,000,000)
is written, the input is committed, and a host that lost its store restores
the value from the changelog. A put over the limit is the input's error (a
contract error, in the DLQ), and the pipeline goes on."""
import json
import os
import shutil
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """name: large
source: {name: in, stream_name: in}
steps:
  - {kind: map, name: st, plugin: testkit, function: state_ops, state: {}}
  - {kind: sink, name: out, stream_name: out}
"""
BIG = (1 << 20) - 8  # under the default max_value_bytes, a changelog record over 1,000,000


def state_value(port, key):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/state/st/0/{key}", timeout=30) as r:
        return json.loads(r.read())["value"]


def committed(env, bootstrap, host):
    try:
        h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("in", 1))
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- the host's log:\n{env.log(host)}") from e


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["in:1", "out:1", "dlq:1", "large-st-changelog:1"])
        pipeline = env.write("p.yaml", PIPELINE)
        config = env.write("d.yaml", h.deployment(source_extra="dlq: {topic: dlq}"))
        h.produce(bootstrap, "in", [(b"k", f"big {BIG}".encode(), []),
                                    (b"k", f"big {BIG + 9}".encode(), []),
                                    (b"k", b"put a 1", [])])
        host = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR)
        committed(env, bootstrap, host)
        assert host.poll() is None, env.log(host)
        outputs = [r.value for r in h.read_all(bootstrap, h.partitions("out", 1))]
        assert outputs == [b"ok", b"ok"], outputs
        dead = h.read_all(bootstrap, h.partitions("dlq", 1))
        assert len(dead) == 1, dead
        assert b"max_value_bytes" in dict(dead[0].headers)["streams.error.message"], dead
        assert env.stop(host) == 0, env.log(host)

        # The store lost: the value comes back from the changelog.
        shutil.rmtree(env.path("state"))
        host = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                              extra=["--admin-port", "0"])
        port = h.admin_port(env, host)
        h.produce(bootstrap, "in", [(b"k", b"get a", [])])
        committed(env, bootstrap, host)
        assert state_value(port, "a") == "1"
        value = state_value(port, "big")
        assert value == "x" * BIG, len(value)
        assert env.stop(host) == 0, env.log(host)
    print("ok")


if __name__ == "__main__":
    main()
