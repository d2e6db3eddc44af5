"""SIGTERM exits within the configured bound even when the broker is gone."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: a}
steps:
  - {kind: map, name: id, plugin: passthrough, function: identity}
  - {kind: sink, name: out, stream_name: b}
"""
BOUND_S = 2 * 2 + 6  # close and drain bounds, plus slack for a loaded CI machine


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["a:2", "b:2"])
        broker = env.procs[-1]
        config = env.write("d.yaml", h.deployment(source_extra="drain_timeout_ms: 2000"))
        host = env.start_host(env.write("p.yaml", PIPELINE), config,
                              bootstrap)
        h.produce(bootstrap, "a", [(b"k", b"v%d" % i, []) for i in range(10)])
        h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("a", 2))

        os.killpg(broker.pid, signal.SIGKILL)
        broker.wait()
        start = time.monotonic()
        status = env.stop(host, timeout=BOUND_S)
        elapsed = time.monotonic() - start
        assert status in (0, 1), (status, env.log(host))
        assert elapsed < BOUND_S, elapsed
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
