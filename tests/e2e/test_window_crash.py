"""Kill -9 of the host in the middle of windows, then restarts.

In memory (no `state:`): no input is missing from the window outputs
(at-least-once: a window may be emitted again, an input is never lost),
because an open window holds back the commit of its inputs.

As state (`state: {}` on the reduce step): keyed sliding windows while a
producer writes a steady stream, the host killed at random moments and
restarted each time. The windows are exact: the outputs are exactly the
windows of a run without crash (each input in each of its windows once; a
window emitted again is identical), though commits went past open windows."""
import json
import os
import random
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

WINDOW = 5
PIPELINE = f"""source: {{name: in, stream_name: numbers}}
steps:
  - kind: reduce
    name: fives
    plugin: examples
    function: list
    window: {{type: tumbling, size: {WINDOW}}}
  - {{kind: sink, name: out, stream_name: windows}}
"""

STATE_PIPELINE = """name: wins
source: {name: in, stream_name: events}
steps:
  - kind: reduce
    name: lists
    plugin: testkit
    function: collect
    window: {type: sliding, size: 4, slide: 2}
    group_by: {plugin: testkit, function: prefix_key}
    state: {}
  - {kind: sink, name: out, stream_name: lists}
"""
PARTITIONS = 2
KEYS = 7
KILLS = min(3, int(os.environ.get("STREAMS_TEST_KILLS", 3)))


def produce_numbers(bootstrap, first, last):
    h.produce(bootstrap, "numbers", [(None, b"%d" % n, []) for n in range(first, last + 1)])


def windows(bootstrap):
    return [json.loads(r.value) for r in h.read_all(bootstrap, h.partitions("windows", 1))]


def committed(bootstrap):
    return h.committed_offsets(bootstrap, "pipeline-in", h.partitions("numbers", 1))[0]


def in_memory(env):
    bootstrap = env.start_broker(["numbers:1", "windows:1"])
    config = env.write("d.yaml", h.deployment(source_extra="commit_interval_ms: 100"))
    pipeline = env.write("p.yaml", PIPELINE)
    produce_numbers(bootstrap, 1, 12)  # two whole windows, and 11, 12 in an open one
    host = env.start_host(pipeline, config, bootstrap)
    h.wait_for(lambda: len(windows(bootstrap)) == 2, 60, "the first two windows")
    # The commit reaches the open window's first input (offset 10) and stops there.
    h.wait_for(lambda: committed(bootstrap) == 10, 30, "the commit to reach offset 10")
    os.killpg(host.pid, signal.SIGKILL)
    host.wait()

    produce_numbers(bootstrap, 13, 20)
    host = env.start_host(pipeline, config, bootstrap, name="host2")
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("numbers", 1))
    got = windows(bootstrap)
    assert got == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14, 15],
                   [16, 17, 18, 19, 20]], got
    assert env.stop(host) == 0, env.log(host)


def expected_windows(bootstrap):
    """The sliding windows (4 records every 2) of each group, in input order."""
    groups = {}
    for r in h.read_all(bootstrap, h.partitions("events", PARTITIONS)):
        value = r.value.decode()
        groups.setdefault((r.partition, value.split(":")[0]), []).append(value)
    out = set()
    for values in groups.values():
        for i in range(0, len(values) - 3, 2):
            out.add("[" + ",".join(values[i:i + 4]) + "]")
    return out


def outputs(bootstrap):
    return [r.value.decode() for r in h.read_all(bootstrap, h.partitions("lists", PARTITIONS))]


def as_state(env, rng):
    bootstrap = env.start_broker([f"events:{PARTITIONS}", f"lists:{PARTITIONS}",
                                  f"wins-lists-changelog:{PARTITIONS}"])
    config = env.write("ds.yaml", h.deployment(source_extra="commit_interval_ms: 100"))
    pipeline = env.write("ps.yaml", STATE_PIPELINE)
    producer = h.SteadyProducer(bootstrap, "events", keys=KEYS,
                                value=lambda n: b"g%d:%d" % (n % KEYS, n))
    producer.start()
    try:
        for i in range(KILLS):
            host = env.start_host(pipeline, config, bootstrap, name=f"state{i}",
                                  plugins_dir=h.TEST_PLUGINS_DIR)
            target = len(outputs(bootstrap)) + rng.randrange(10, 120)
            h.wait_for(lambda: len(outputs(bootstrap)) >= target or host.poll() is not None,
                       90, f"state{i} to make progress")
            assert host.poll() is None, env.log(host)
            os.killpg(host.pid, signal.SIGKILL)
            host.wait()
        producer.finish()
        host = env.start_host(pipeline, config, bootstrap, name="state-final",
                              plugins_dir=h.TEST_PLUGINS_DIR)
        h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("events", PARTITIONS),
                                timeout=120)
        assert env.stop(host) == 0, env.log(host)
    finally:
        producer.done.set()
    want = expected_windows(bootstrap)
    got = outputs(bootstrap)
    assert set(got) == want, (sorted(set(got) - want)[:5], sorted(want - set(got))[:5])
    return producer.sent, len(got) - len(want)


def main():
    rng = random.Random(int(os.environ.get("STREAMS_TEST_SEED", random.randrange(1 << 30))))
    with h.Env() as env:
        in_memory(env)
    with h.Env() as env:
        sent, again = as_state(env, rng)
    print(f"ok: {KILLS} kills, {sent} inputs, windows exact ({again} emitted again)")


if __name__ == "__main__":
    main()
