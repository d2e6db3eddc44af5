"""Hot reload keeps state: a running count per key (the stamp plugin's
stateful `count`) under a steady keyed stream, its plugin replaced v1 -> v2
-> v1 while it runs. Every key's counts run 1..n with no gap and no repeat
(exactly once: no restart, no rebalance), and the first count each new
version gives a key is one more than the last the old version gave it."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from test_state_restarts import KEYS, PARTITIONS  # noqa: E402

PIPELINE = """name: reload_counts
source: {name: in, stream_name: clicks}
steps:
  - {kind: map, name: count, plugin: stamp, function: count, state: {}}
  - {kind: sink, name: out, stream_name: click-counts}
"""


def version_so(major):
    return os.path.join(h.TEST_PLUGINS_DIR, f"stamp_v{major}.so")


def output_count(bootstrap):
    return sum(h.end_offsets(bootstrap, h.partitions("click-counts", PARTITIONS)).values())


def main():
    with h.Env() as env:
        bootstrap = env.start_broker([f"clicks:{PARTITIONS}", f"click-counts:{PARTITIONS}",
                                      f"reload_counts-count-changelog:{PARTITIONS}"])
        plugins = env.path("plugins")
        os.mkdir(plugins)
        stamp = os.path.join(plugins, "stamp.so")
        shutil.copyfile(version_so(1), stamp)
        host = env.start_host(env.write("p.yaml", PIPELINE),
                              env.write("d.yaml", h.deployment(sink="out")), bootstrap,
                              plugins_dir=plugins, extra=["--admin-port", "0"])
        port = h.admin_port(env, host)
        producer = h.SteadyProducer(bootstrap, "clicks", keys=KEYS)
        producer.start()
        try:
            h.wait_for(lambda: output_count(bootstrap) >= 300, 60, "the first outputs")
            for generation, major in ((2, 2), (3, 1)):
                shutil.copyfile(version_so(major), stamp + ".tmp")
                os.replace(stamp + ".tmp", stamp)
                status = h.wait_generation(port, generation)
                assert status["last_reload"]["outcome"] == "applied", status["last_reload"]
                target = output_count(bootstrap) + 300
                h.wait_for(lambda: output_count(bootstrap) >= target, 60, "outputs after a reload")
            producer.done.set()
            producer.join(timeout=120)
            h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("clicks", PARTITIONS),
                                    timeout=120)
            assert env.stop(host) == 0, env.log(host)
        finally:
            producer.done.set()
        assert env.log(host).count(" assigned clicks[") == 1, env.log(host)  # no rebalance

        inputs = {}
        for r in h.read_all(bootstrap, h.partitions("clicks", PARTITIONS)):
            inputs[r.key.decode()] = inputs.get(r.key.decode(), 0) + 1
        outputs = {}
        for r in h.read_all(bootstrap, h.partitions("click-counts", PARTITIONS)):
            key, count, version, _ = r.value.decode().split(" ")
            outputs.setdefault(key, []).append((int(count), version))
        switches = 0
        for key, n in inputs.items():
            got = outputs.get(key, [])
            assert [c for c, _ in got] == list(range(1, n + 1)), (key, n, got[:3], got[-3:])
            switches += sum(1 for a, b in zip(got, got[1:]) if a[1] != b[1])
        versions = {v for got in outputs.values() for _, v in got}
        assert versions == {"1.0.0", "2.0.0"}, versions
        assert switches >= len(inputs), (switches, len(inputs))  # each key saw v2 take over
        print(f"ok: {sum(inputs.values())} inputs over {len(inputs)} keys, counts continued "
              f"across {switches} version switches")


if __name__ == "__main__":
    main()
