"""Branching pipelines end to end: flat_map, route, broadcast, header_filter
and Kafka, file and devnull sinks on the dev broker, with kafka-python as the
independent client; then a broadcast to a slow and a fast cluster, checking
that no input offset is committed before its slow output is delivered."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

GROUP = "branches"


def deployment(names, group, extra=""):
    """steps_config for `names` ({step: bootstrap env var}), source first."""
    lines = ["pipeline:", "  segments:", "    - steps_config:"]
    for i, (step, var) in enumerate(names.items()):
        lines.append(f"        {step}:")
        lines.append(f'          bootstrap_servers: ["${{envvar:{var}}}"]')
        if i == 0:
            lines += [f"          consumer_group: {group}",
                      "          auto_offset_reset: earliest",
                      "          error_policy: skip-and-count",
                      '          override_params: {session.timeout.ms: "6000"}', extra]
    return "\n".join(lines) + "\n"


def values(records):
    return sorted(r.value.decode() for r in records)


def tree(env):
    bootstrap = env.start_broker(["in:2", "a-out:2", "b-out:2", "h-out:2"])
    out_file = env.path("b.lines")
    pipe = env.write("tree.yaml", h.TESTKIT_TREE % {"file": out_file})
    config = env.write("tree-deployment.yaml", deployment(
        {"in": "BOOTSTRAP_SERVERS", "a_out": "BOOTSTRAP_SERVERS",
         "b_out": "BOOTSTRAP_SERVERS", "h_out": "BOOTSTRAP_SERVERS"}, GROUP))
    host = env.start_host(pipe, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR)
    h.produce(bootstrap, "in", [
        (b"k1", b"a:1,b:2,h:3", [("region", b"eu")]),
        (b"k2", b"a:4,h:5", [("region", b"us")]),
        (b"k3", b"x:6,b:7", []),
        (b"k4", b"h:8", [("region", b"\xff")]),
    ])
    inputs = h.partitions("in", 2)
    h.wait_committed_to_end(bootstrap, GROUP, inputs)
    a = h.read_all(bootstrap, h.partitions("a-out", 2))
    assert values(a) == ["A:1", "A:4"], values(a)
    first = next(r for r in a if r.value == b"A:1")
    assert first.key == b"k1" and first.headers == [("region", b"eu")], first
    assert values(h.read_all(bootstrap, h.partitions("b-out", 2))) == ["b:2", "b:7"]
    assert values(h.read_all(bootstrap, h.partitions("h-out", 2))) == ["h:3"]
    with open(out_file) as f:
        assert sorted(f.read().splitlines()) == ["b:2", "b:7"]
    log = env.log(host)
    assert "route chose branch 'x'; the branches are 'a', 'b', 'h'" in log, log
    assert "header 'region' is not valid UTF-8" in log, log
    assert env.stop(host) == 0, env.log(host)


def broker_state(env, proc, count):
    """Waits for the dev broker's `count`-th "brokers up/down" line."""
    def printed():
        with open(env.path(proc.log_name + ".out")) as f:
            return sum(1 for line in f if line.startswith("brokers "))
    h.wait_for(lambda: printed() >= count, 10, "the dev broker to switch")


def slow_and_fast(env):
    fast = env.start_broker(["in:2", "fast:2"])
    slow = env.start_broker(["slow:2"])
    slow_proc = env.procs[-1]
    slow_proc.send_signal(signal.SIGUSR1)  # the slow cluster goes down
    broker_state(env, slow_proc, 1)
    pipe = env.write("fan.yaml", """source: {name: in, stream_name: in}
steps:
  - kind: broadcast
    name: fan
    branches:
      fast: [{kind: sink, name: fast, stream_name: fast}]
      slow: [{kind: sink, name: slow, stream_name: slow}]
""")
    config = env.write("fan-deployment.yaml", deployment(
        {"in": "BOOTSTRAP_SERVERS", "fast": "BOOTSTRAP_SERVERS", "slow": "SLOW_SERVERS"},
        "fan", extra="          commit_interval_ms: 50"))
    os.environ["SLOW_SERVERS"] = slow
    host = env.start_host(pipe, config, fast, plugins_dir=h.TEST_PLUGINS_DIR)
    count = 300
    h.produce(fast, "in", [(str(i).encode(), str(i).encode(), []) for i in range(count)])
    inputs = h.partitions("in", 2)
    fast_parts = h.partitions("fast", 2)
    h.wait_for(lambda: sum(h.end_offsets(fast, fast_parts).values()) == count, 60,
               "the fast sink to receive every record")
    # While the slow sink cannot deliver, nothing may be committed: sample
    # for two seconds (20 commit intervals).
    until = time.monotonic() + 2
    while time.monotonic() < until:
        committed = h.committed_offsets(fast, "fan", inputs)
        assert sum(committed.values()) == 0, committed
        assert host.poll() is None, env.log(host)
    slow_proc.send_signal(signal.SIGUSR2)
    broker_state(env, slow_proc, 2)
    h.wait_committed_to_end(fast, "fan", inputs)
    slow_out = h.read_all(slow, h.partitions("slow", 2))
    assert values(slow_out) == sorted(str(i) for i in range(count)), len(slow_out)
    assert env.stop(host) == 0, env.log(host)


def main():
    with h.Env() as env:
        tree(env)
        slow_and_fast(env)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
