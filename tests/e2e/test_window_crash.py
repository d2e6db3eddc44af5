"""Kill -9 of the host in the middle of a count window, then a restart: no
input is missing from the window outputs (at-least-once: a window may be
emitted again, an input is never lost), because an open window holds back
the commit of its inputs."""
import json
import os
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


def produce_numbers(bootstrap, first, last):
    h.produce(bootstrap, "numbers", [(None, b"%d" % n, []) for n in range(first, last + 1)])


def windows(bootstrap):
    return [json.loads(r.value) for r in h.read_all(bootstrap, h.partitions("windows", 1))]


def committed(bootstrap):
    return h.committed_offsets(bootstrap, "pipeline-in", h.partitions("numbers", 1))[0]


def main():
    with h.Env() as env:
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
    print("ok")


if __name__ == "__main__":
    main()
