"""SIGTERM exits within the configured bound even when the broker is gone,
or while the sink's producer queue is full because its broker is down."""
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
# The close and drain bounds, plus slack for a loaded CI machine (scaled
# under ThreadSanitizer, whose host does the same work many times slower).
BOUND_S = 2 * 2 + 6 * h.TIME_SCALE


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

    with h.Env() as env:
        bootstrap = env.start_broker(["a:1"])
        dead = f"127.0.0.1:{h.free_port()}"  # nothing listens there
        config = env.write("d.yaml", h.deployment(source_extra="drain_timeout_ms: 2000").replace(
            '{bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]}',
            f'{{bootstrap_servers: ["{dead}"], '
            f'override_params: {{queue.buffering.max.messages: "10"}}}}'))
        host = env.start_host(env.write("p.yaml", PIPELINE), config, bootstrap)
        h.produce(bootstrap, "a", [(None, b"v%d" % i, []) for i in range(50)])
        h.wait_for(lambda: "producer queue full for 1 s" in env.log(host), 60,
                   "the sink to block on its full producer queue")
        start = time.monotonic()
        status = env.stop(host, timeout=BOUND_S)
        assert time.monotonic() - start < BOUND_S
        assert status == 1, (status, env.log(host))  # outputs were not delivered
        assert "stop requested while the producer queue is full" in env.log(host), env.log(host)
        committed = h.committed_offsets(bootstrap, "pipeline-in", h.partitions("a", 1))
        assert committed == {0: 0}, committed  # nothing was delivered, nothing committed
    print("2 passed, 0 failed")


if __name__ == "__main__":
    main()
