"""A checkpoint at its limits, each then restored from the changelog into a
host that lost its store.

Large values: a state value as large as `state.max_value_bytes` allows (its
default, 1 MiB) is a value like any other: its changelog record (key, stamp,
write time and value: over librdkafka's default message.max.bytes of
1,000,000) is written and the input committed. A put over the limit is the
input's error (a contract error, in the DLQ), and the pipeline goes on.

Many changes: one checkpoint of 50,000 keys, several times what the
changelog writer keeps in its producer at once (it hands them over a window
at a time): every key is in the changelog, key by key equal after the
restore."""
import json
import os
import shutil
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

LARGE = """name: large
source: {name: in, stream_name: in}
steps:
  - {kind: map, name: st, plugin: testkit, function: state_ops, state: {}}
  - {kind: sink, name: out, stream_name: out}
"""
BIG = (1 << 20) - 8  # under the default max_value_bytes, a changelog record over 1,000,000

MANY = """name: many
source: {name: src, stream_name: many-in}
steps:
  - {kind: map, name: count, plugin: examples, function: running_count, state: {}}
  - {kind: sink, name: out, stream_name: many-out}
"""
KEYS = 50000


def get(port, step, key):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/state/{step}/0/{key}",
                                timeout=30) as r:
        return json.loads(r.read())["value"]


def scan(port, step, prefix):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/state/{step}/0?prefix={prefix}"
                                f"&limit=10000", timeout=30) as r:
        return json.loads(r.read())["entries"]


def committed(env, bootstrap, host, group, topic):
    try:
        h.wait_committed_to_end(bootstrap, group, h.partitions(topic, 1))
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- the host's log:\n{env.log(host)}") from e


def large_values(env, bootstrap):
    pipeline = env.write("large.yaml", LARGE)
    config = env.write("large-d.yaml", h.deployment(source_extra="dlq: {topic: dlq}"))
    h.produce(bootstrap, "in", [(b"k", f"big {BIG}".encode(), []),
                                (b"k", f"big {BIG + 9}".encode(), []),
                                (b"k", b"put a 1", [])])
    host = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR)
    committed(env, bootstrap, host, "pipeline-in", "in")
    assert host.poll() is None, env.log(host)
    outputs = [r.value for r in h.read_all(bootstrap, h.partitions("out", 1))]
    assert outputs == [b"ok", b"ok"], outputs
    dead = h.read_all(bootstrap, h.partitions("dlq", 1))
    assert len(dead) == 1, dead
    assert b"max_value_bytes" in dict(dead[0].headers)["streams.error.message"], dead
    assert env.stop(host) == 0, env.log(host)

    shutil.rmtree(env.path("state"))  # the store lost: restored from the changelog
    host = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                          extra=["--admin-port", "0"])
    port = h.admin_port(env, host)
    h.produce(bootstrap, "in", [(b"k", b"get a", [])])
    committed(env, bootstrap, host, "pipeline-in", "in")
    assert get(port, "st", "a") == "1"
    value = get(port, "st", "big")
    assert value == "x" * BIG, len(value)
    assert env.stop(host) == 0, env.log(host)


def many_changes(env, bootstrap):
    pipeline = env.write("many.yaml", MANY)
    # One checkpoint of every key (the run takes well under the interval).
    config = env.write("many-d.yaml", h.deployment(source="src",
                                                   source_extra="commit_interval_ms: 3000"))
    keys = [f"k{i:05d}" for i in range(KEYS)]
    h.produce_kcat(bootstrap, "many-in", [(k.encode(), b"1") for k in keys])
    host = env.start_host(pipeline, config, bootstrap)
    committed(env, bootstrap, host, "pipeline-src", "many-in")
    assert env.stop(host) == 0, env.log(host)

    shutil.rmtree(env.path("state"))
    host = env.start_host(pipeline, config, bootstrap, extra=["--admin-port", "0"])
    port = h.admin_port(env, host)
    h.produce_kcat(bootstrap, "many-in", [(b"k00000", b"1")])
    committed(env, bootstrap, host, "pipeline-src", "many-in")
    restored = {}
    for prefix in range(KEYS // 10000):
        restored.update((e["key"], e["value"]) for e in scan(port, "count", f"k{prefix}"))
    restored["k00000"] = str(int(restored["k00000"]) - 1)  # the input after the restore
    assert restored == {k: "1" for k in keys}, (len(restored),
                                               sorted(set(keys) - set(restored))[:5])
    assert env.stop(host) == 0, env.log(host)


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["in:1", "out:1", "dlq:1", "large-st-changelog:1",
                                      "many-in:1", "many-out:1", "many-count-changelog:1"])
        large_values(env, bootstrap)
        many_changes(env, bootstrap)
    print("ok")


if __name__ == "__main__":
    main()
