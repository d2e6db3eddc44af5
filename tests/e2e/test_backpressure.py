"""Backpressure: with small in-flight bounds on the partitions and the sink,
partitions are paused and resumed many times; the output is still complete
and, with no restart, has no duplicate (a resume fetches again from the input
the partition could not take). A plugin sink whose open batches hold its
bound sends them when the source is held or paused: it does not wait out
batch_time_ms for input that cannot come. A devnull sink simulating a slow
store (the original DevNullSink's sleep times) holds its outputs until each
batch's write ends: its bound pauses the source, and a stop waits for it."""
import os
import re
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: bp-in}
steps:
  - {kind: map, name: up, plugin: testkit, function: upper}
  - {kind: sink, name: out, stream_name: bp-out}
"""

DEPLOYMENT = """pipeline:
  segments:
    - steps_config:
        in:
          bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]
          auto_offset_reset: earliest
          override_params: {session.timeout.ms: "6000"}
          max_in_flight_messages: %d
          max_in_flight_bytes: %d
        out:
          bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]
          max_in_flight_messages: %d
"""

SEALED = """source: {name: in, stream_name: bp-in}
steps:
  - {kind: sink, name: out, plugin: testkit, function: discard, batch_size: 1000000,
     batch_time_ms: 3600000}
"""

SLOW_STORE = """source: {name: in, stream_name: bp-in}
steps:
  - {kind: sink, name: out, type: devnull, batch_size: 1000, average_sleep_time_ms: 100}
"""

COUNT = 20000


def run(env, bootstrap, name, in_messages, in_bytes, sink_messages, pipeline="p.yaml"):
    start = time.monotonic()
    config = env.write(name + ".yaml", DEPLOYMENT % (in_messages, in_bytes, sink_messages))
    host = env.start_host(env.path(pipeline), config, bootstrap,
                          plugins_dir=h.TEST_PLUGINS_DIR, name=name)
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("bp-in", 2), timeout=120)
    assert env.stop(host) == 0, env.log(host)
    print(f"{name}: {time.monotonic() - start:.1f} s")
    return env.log(host)


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["bp-in:2", "bp-out:2"])
        env.write("p.yaml", PIPELINE)
        h.produce(bootstrap, "bp-in", [(None, b"m%d" % i, []) for i in range(COUNT)])

        log = run(env, bootstrap, "by-partition", 50, 1 << 20, 100000)
        assert "backpressure: paused bp-in[" in log and "max_in_flight_messages inputs" in log, log
        values = [r.value for r in h.read_all(bootstrap, h.partitions("bp-out", 2))]
        assert len(values) == COUNT, len(values)
        assert sorted(values) == sorted(b"M%d" % i for i in range(COUNT))

        # Again, from the start, paused by the sink's bound instead.
        h.produce(bootstrap, "bp-in", [(None, b"n%d" % i, []) for i in range(COUNT)])
        log = run(env, bootstrap, "by-sink", 100000, 1 << 20, 200)
        assert "unacknowledged, at its max_in_flight bound" in log, log
        values = [r.value for r in h.read_all(bootstrap, h.partitions("bp-out", 2))]
        assert len(values) == 2 * COUNT, len(values)
        assert sorted(values[COUNT:] + values[:COUNT]) == sorted(
            [b"M%d" % i for i in range(COUNT)] + [b"N%d" % i for i in range(COUNT)])

        # Batches that would wait an hour for time or size: the sink's bound
        # (the source held), then the partitions' (paused), seal them.
        env.write("sealed.yaml", SEALED)
        for name, bounds in (("sealed-by-sink", (100000, 1 << 20, 300)),
                             ("sealed-by-partition", (100, 1 << 20, 100000))):
            h.produce(bootstrap, "bp-in", [(None, b"%s %d" % (name.encode(), i), [])
                                           for i in range(COUNT)])
            sealed(env, bootstrap, name, *bounds)
        slow_store(env, bootstrap)
    print("ok")


def slow_store(env, bootstrap):
    """20 simulated writes of 1,000 records, ~100 ms each, one after
    another, under a bound of 2,000: the source waits for them; every input
    is committed once its write ended, a stop's included."""
    h.produce(bootstrap, "bp-in", [(None, b"s%d" % i, []) for i in range(COUNT)])
    env.write("slow.yaml", SLOW_STORE)
    # A pipeline that needs no plugin runs with no plugins directory (one
    # made later is watched).
    config = env.write("slow-d.yaml", DEPLOYMENT % (100000, 1 << 26, 2000))
    host = env.start_host(env.path("slow.yaml"), config, bootstrap, name="slow-store",
                          plugins_dir=env.path("not-made-yet"))
    tps = h.partitions("bp-in", 2)
    h.wait_committed_to_end(bootstrap, "pipeline-in", tps, timeout=120)
    assert env.stop(host) == 0, env.log(host)
    log = env.log(host)
    assert re.search(r"sink devnull has \d+ outputs \(\d+ bytes\) unacknowledged, at its "
                     r"max_in_flight bound", log), log


def sealed(env, bootstrap, name, in_messages, in_bytes, sink_messages):
    """Every input is taken, and all but the last open batches' (under the
    bounds, they wait for batch_time_ms) written and committed, while the
    host runs; the stop sends the rest."""
    config = env.write(name + ".yaml", DEPLOYMENT % (in_messages, in_bytes, sink_messages))
    host = env.start_host(env.path("sealed.yaml"), config, bootstrap,
                          plugins_dir=h.TEST_PLUGINS_DIR, name=name, extra=["--admin-port", "0"])
    port = h.admin_port(env, host)

    def taken():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            found = re.search(rb"^streams_consumed_total(?:{[^}]*})? (\S+)$", r.read(), re.M)
        return int(float(found.group(1))) if found else 0
    h.wait_progress(taken, COUNT, 60, "every input taken")
    tps = h.partitions("bp-in", 2)
    left = 2 * min(in_messages, sink_messages)

    def behind():
        ends, committed = h.end_offsets(bootstrap, tps), h.committed_offsets(
            bootstrap, "pipeline-in", tps)
        return -max(0, sum(ends[p] - committed.get(p, 0) for p in ends) - left)
    h.wait_progress(behind, 0, 60, f"all but {left} inputs committed")
    assert env.stop(host) == 0, env.log(host)
    h.wait_committed_to_end(bootstrap, "pipeline-in", tps)


if __name__ == "__main__":
    main()
