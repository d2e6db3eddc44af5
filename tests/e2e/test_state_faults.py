"""The state checkpoint protocol under a crash at each of its steps: the
host kills itself (SIGKILL, through a test-only fault point) right after
preparing a commit, after sending it, after its confirmation, and after
the checkpoint, while a steady keyed stream runs through the stamp plugin's
stateful `count`. After a restart the counts are exact (each key's run
1..n, no gap, nothing counted twice) and an input read again gives exactly
the output it gave the first time. The stores flush every 10 s (the
default: the crashes after a confirmation leave a store behind its committed
offset, restored from the changelog), and every 300 ms for the crash after a
flush (state-checkpointed)."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from test_state_restarts import KEYS, PARTITIONS  # noqa: E402

POINTS = ["state-prepared", "commit-sent", "commit-confirmed", "state-checkpointed"]


def check(bootstrap, source, sink):
    inputs = {}
    for r in h.read_all(bootstrap, h.partitions(source, PARTITIONS)):
        inputs[r.key.decode()] = inputs.get(r.key.decode(), 0) + 1
    by_input, counts = {}, {}
    for r in h.read_all(bootstrap, h.partitions(sink, PARTITIONS)):
        key, count, _, where = r.value.decode().split(" ")
        first = by_input.setdefault(where, (key, count))
        assert first == (key, count), ("a replay gave another output", where, first, key, count)
        counts.setdefault(key, set()).add(int(count))
    for key, n in inputs.items():
        assert counts.get(key) == set(range(1, n + 1)), (key, n, sorted(counts.get(key, []))[-3:])
    return sum(inputs.values()), len(by_input)


def main():
    with h.Env() as env:
        topics = [f"{kind}-{i}:{PARTITIONS}" for i in range(len(POINTS)) for kind in ("in", "out")]
        topics += [f"faults{i}-count-changelog:{PARTITIONS}" for i in range(len(POINTS))]
        bootstrap = env.start_broker(topics)
        plugins = env.path("plugins")
        os.mkdir(plugins)
        shutil.copyfile(os.path.join(h.TEST_PLUGINS_DIR, "stamp_v1.so"),
                        os.path.join(plugins, "stamp.so"))
        for i, point in enumerate(POINTS):
            source, sink = f"in-{i}", f"out-{i}"
            pipeline = env.write(f"p{i}.yaml", f"""name: faults{i}
source: {{name: src{i}, stream_name: {source}}}
steps:
  - {{kind: map, name: count, plugin: stamp, function: count, state: {{}}}}
  - {{kind: sink, name: out, stream_name: {sink}}}
""")
            config = h.deployment(source=f"src{i}", sink="out",
                                  source_extra="commit_interval_ms: 100")
            if point == "state-checkpointed":
                config += "state_flush_interval_ms: 300\n"
            config = env.write(f"d{i}.yaml", config)
            producer = h.SteadyProducer(bootstrap, source, keys=KEYS)
            producer.start()
            try:
                host = env.start_host(pipeline, config, bootstrap, plugins_dir=plugins,
                                      name=f"{point}-crash",
                                      prefix=["env", f"STREAMS_FAULT_POINT={point}:3"])
                h.wait_for(lambda: host.poll() is not None, 60, f"the host to crash at {point}")
                assert host.returncode == -9, (point, host.returncode, env.log(host))
                host = env.start_host(pipeline, config, bootstrap, plugins_dir=plugins,
                                      name=f"{point}-after")
                h.wait_for(lambda: sum(h.end_offsets(bootstrap, h.partitions(
                    sink, PARTITIONS)).values()) >= 200, 60, "outputs after the restart")
                producer.finish()
                try:
                    h.wait_committed_to_end(bootstrap, f"pipeline-src{i}",
                                            h.partitions(source, PARTITIONS), timeout=120)
                except AssertionError as e:
                    raise AssertionError(f"{e}\n--- the restarted host's log:\n"
                                         f"{env.log(host)}") from e
                assert env.stop(host) == 0, env.log(host)
            finally:
                producer.done.set()
            total, distinct = check(bootstrap, source, sink)
            assert distinct == total, (point, distinct, total)  # every input has its output
            print(f"{point}: {total} inputs, counts exact, replays identical")
    print("ok")


if __name__ == "__main__":
    main()
