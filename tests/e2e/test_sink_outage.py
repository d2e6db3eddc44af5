"""The sink's cluster down for 60 s under load: the host pauses its
partitions, its resident memory stays under the bound its configuration
implies, and once the sink is back the output is complete. The source and
the sink live on two dev brokers; only the sink's goes down."""
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from stores import rss  # noqa: E402

PARTITIONS = 8
MIB = 1 << 20
SOURCE_BYTES = 256 * 1024  # per partition
SINK_BYTES = 1 * MIB
PREFETCH_KIB = 2048
# What may be held: each partition's inputs, the sink's queue (twice its
# bound), the consumer's prefetch; plus allocator slack.
BOUND = PARTITIONS * SOURCE_BYTES + 2 * SINK_BYTES + PREFETCH_KIB * 1024 + 8 * MIB
# More than the bound, less than the dev broker keeps (5 MiB a partition). The
# records are keyed, so that both topics' partitions fill evenly: null-key
# outputs go to one partition per batch (librdkafka's sticky partitioner),
# and a backlog sent at once then overflowed one partition's 5 MiB.
LOAD = 20 * MIB
VALUE = 1024

PIPELINE = """source: {name: in, stream_name: load-in}
steps:
  - {kind: map, name: up, plugin: testkit, function: upper}
  - {kind: sink, name: out, stream_name: load-out}
"""

DEPLOYMENT = f"""pipeline:
  segments:
    - steps_config:
        in:
          bootstrap_servers: ["${{envvar:BOOTSTRAP_SERVERS}}"]
          auto_offset_reset: earliest
          max_in_flight_bytes: {SOURCE_BYTES}
          override_params:
            session.timeout.ms: "6000"
            queued.max.messages.kbytes: "{PREFETCH_KIB}"
        out:
          bootstrap_servers: ["${{envvar:SINK_SERVERS}}"]
          max_in_flight_bytes: {SINK_BYTES}
"""


def load(bootstrap, count, first, stop):
    """Produces `count` numbered records of VALUE bytes over about 50 s."""
    producer = h.KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    try:
        for i in range(first, first + count):
            if stop.is_set():
                break
            value = b"n%d " % i
            producer.send("load-in", key=b"%d" % i, value=value + b"x" * (VALUE - len(value)))
            if i % 100 == 0:
                stop.wait(100 * 50 / count)  # spreads the load over the outage
        producer.flush(timeout=60)
    finally:
        producer.close()


def main():
    # Under ASan freed memory waits in a quarantine (256 MiB by default) that
    # counts as resident; the bound is about what the host keeps.
    os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1"
    with h.Env() as env:
        source = env.start_broker([f"load-in:{PARTITIONS}"])
        sink_servers = env.start_broker([f"load-out:{PARTITIONS}"])
        sink_broker = env.procs[-1]
        sink_out = env.path(sink_broker.log_name + ".out")
        os.environ["SINK_SERVERS"] = sink_servers
        host = env.start_host(env.write("p.yaml", PIPELINE), env.write("d.yaml", DEPLOYMENT),
                              source, plugins_dir=h.TEST_PLUGINS_DIR)
        h.produce(source, "load-in",
                  [(b"%d" % i, b"n%d " % i + b"x" * 1000, []) for i in range(200)])
        outputs = h.partitions("load-out", PARTITIONS)
        h.wait_for(lambda: sum(h.end_offsets(sink_servers, outputs).values()) >= 200, 60,
                   "the first outputs")
        baseline = rss(host.pid)

        sink_broker.send_signal(signal.SIGUSR1)
        h.wait_for(lambda: "brokers down" in open(sink_out).read(), 10, "the sink down")
        count = LOAD // VALUE
        stop = threading.Event()
        loader = threading.Thread(target=load, args=(source, count, 200, stop), daemon=True)
        loader.start()
        peak = baseline
        outage_end = time.monotonic() + 60

        def sample():
            nonlocal peak
            peak = max(peak, rss(host.pid))
            return time.monotonic() >= outage_end
        try:
            h.wait_for(sample, 70, "the 60 s outage")  # samples RSS every 50 ms
            loader.join(timeout=60)
            assert not loader.is_alive(), "the load did not finish"
        finally:
            stop.set()
        sink_broker.send_signal(signal.SIGUSR2)
        assert host.poll() is None, env.log(host)
        assert "backpressure: paused load-in[" in env.log(host), env.log(host)

        inputs = h.partitions("load-in", PARTITIONS)
        h.wait_committed_to_end(source, "pipeline-in", inputs, timeout=180)
        assert env.stop(host) == 0, env.log(host)
        wanted = {r.value.split(b" ")[0].upper() for r in h.read_all(source, inputs)}
        got = {v.split(b" ")[0] for v in h.read_values(sink_servers, "load-out")}
        assert len(wanted) == 200 + count, len(wanted)
        growth = peak - baseline
        print(f"RSS {baseline // MIB} MiB before, peak {peak // MIB} MiB during the outage "
              f"(growth {growth / MIB:.1f} MiB, bound {BOUND // MIB} MiB, load {LOAD // MIB} MiB)")
        ends = h.end_offsets(sink_servers, outputs)
        missing = sorted(wanted - got)
        assert not missing, (len(missing), missing[:10], ends)
        assert growth < BOUND, (growth, BOUND)
        print("ok")


if __name__ == "__main__":
    main()
