"""Crash safety: while a producer writes a steady stream of numbered
messages, the host is killed with SIGKILL ten times at moments picked at
random (after a random amount of new output) and restarted. Every number
appears in the output, and an input appears more than once only if it was at
or after its partition's committed offset at some kill."""
import os
import random
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: crash-in}
steps:
  - {kind: map, name: up, plugin: testkit, function: upper}
  - {kind: sink, name: out, stream_name: crash-out}
"""
PARTITIONS = 4
KILLS = int(os.environ.get("STREAMS_TEST_KILLS", 10))


def output_count(bootstrap):
    return sum(h.end_offsets(bootstrap, h.partitions("crash-out", PARTITIONS)).values())


def main():
    rng = random.Random(int(os.environ.get("STREAMS_TEST_SEED", random.randrange(1 << 30))))
    inputs = h.partitions("crash-in", PARTITIONS)
    with h.Env() as env:
        bootstrap = env.start_broker([f"crash-in:{PARTITIONS}", f"crash-out:{PARTITIONS}"])
        pipeline = env.write("p.yaml", PIPELINE)
        config = env.write("d.yaml", h.deployment(sink="out", source_extra="commit_interval_ms: 200"))
        producer = h.SteadyProducer(bootstrap, "crash-in")
        producer.start()
        commits_at_kill = []
        try:
            for i in range(KILLS):
                host = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                                      name=f"host{i}")
                target = output_count(bootstrap) + rng.randrange(50, 600)
                h.wait_for(lambda: output_count(bootstrap) >= target or host.poll() is not None,
                           90, f"host{i} to make progress")
                assert host.poll() is None, env.log(host)
                os.killpg(host.pid, signal.SIGKILL)
                host.wait()
                commits_at_kill.append(h.committed_offsets(bootstrap, "pipeline-in", inputs))
            producer.finish()
            host = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                                  name="final")
            h.wait_committed_to_end(bootstrap, "pipeline-in", inputs, timeout=120)
            assert env.stop(host) == 0, env.log(host)
        finally:
            producer.done.set()

        total = producer.sent
        where = {r.value: (r.partition, r.offset) for r in h.read_all(bootstrap, inputs)}
        assert len(where) == total, (len(where), total)
        copies = {}
        for r in h.read_all(bootstrap, h.partitions("crash-out", PARTITIONS)):
            copies[r.value.lower()] = copies.get(r.value.lower(), 0) + 1
        missing = [v for v in where if v not in copies]
        assert not missing, missing[:10]
        for value, n in copies.items():
            partition, offset = where[value]
            allowed = 1 + sum(1 for c in commits_at_kill if c[partition] <= offset)
            assert n <= allowed, (value, n, partition, offset, commits_at_kill)
        duplicates = sum(copies.values()) - total
        print(f"ok: {KILLS} kills, {duplicates} duplicate(s), all {total} numbers present")


if __name__ == "__main__":
    main()
