"""A host with many stateful partitions holds about eight files open for each
(its RocksDB store). Started with a soft limit on open files far below what
it needs and a higher hard one (systemd's and containerd's 1024 soft), it
raises the soft limit and runs; where the hard limit is too low it stops
saying so, naming the limit and what to change."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PARTITIONS = 40  # 40 stores of about eight files each: more than 200
PIPELINE = """name: manyfiles
source: {name: src, stream_name: many-in}
steps:
  - {kind: map, name: count, plugin: examples, function: running_count, state: {}}
  - {kind: sink, name: out, stream_name: many-out}
"""


def main():
    with h.Env() as env:
        bootstrap = env.start_broker([f"many-in:{PARTITIONS}", f"many-out:{PARTITIONS}",
                                      f"manyfiles-count-changelog:{PARTITIONS}"])
        pipeline = env.write("p.yaml", PIPELINE)
        config = env.write("d.yaml", h.deployment(source="src", sink="out"))
        h.produce(bootstrap, "many-in", [(b"k%d" % i, b'{"user":"u%d"}' % i, [])
                                         for i in range(PARTITIONS * 3)])

        host = env.start_host(pipeline, config, bootstrap, name="raised",
                              prefix=["prlimit", "--nofile=64:4096"])
        h.wait_for(lambda: host.poll() is not None or sum(h.end_offsets(
            bootstrap, h.partitions("many-out", PARTITIONS)).values()) == PARTITIONS * 3,
            120, "every record counted")
        assert host.poll() is None, env.log(host)
        assert env.stop(host) == 0, env.log(host)

        host = env.start_host(pipeline, config, bootstrap, name="too-low",
                              prefix=["prlimit", "--nofile=200:200"])
        h.wait_for(lambda: host.poll() is not None, 120, "the host to stop")
        assert host.returncode != 0, env.log(host)
        log = env.log(host)
        assert "Too many open files (this process may open 200 files at once and each " \
            "partition of a stateful step holds about eight: raise the limit" in log, log
    print("ok")


if __name__ == "__main__":
    main()
