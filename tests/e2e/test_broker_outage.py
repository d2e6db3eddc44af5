"""Faults on the dev broker under a steady numbered stream: the whole cluster
down for 10 s, then bursts of injected produce, fetch and commit errors. The
host recovers by itself (no restart) and the output holds every number that
reached the input topic."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: fault-in}
steps:
  - {kind: map, name: up, plugin: testkit, function: upper}
  - {kind: sink, name: out, stream_name: fault-out}
"""
PARTITIONS = 2


def output_count(bootstrap):
    return sum(h.end_offsets(bootstrap, h.partitions("fault-out", PARTITIONS)).values())


def grow(bootstrap, by, what, stall=90):
    target = output_count(bootstrap) + by
    h.wait_progress(lambda: output_count(bootstrap), target, stall, what)


def lost_report(lost, log):
    """Where the lost inputs were, and what the host logged about their
    partitions' assignment, fetch position and commits (the test runs the host
    at debug level), to tell a fetch gap from a lost output."""
    where = [(r.value, r.partition, r.offset) for r in lost[:10]]
    words = ("assign", "revoke", "lost", "seek", "paus", "resum", "rebalanc", "error", "fail",
             "reset", "warn")
    lines = [line for line in log.splitlines() if any(w in line.lower() for w in words)]
    return (f"{len(lost)} inputs have no output: {where}\nhost log (filtered, first 150):\n"
            + "\n".join(lines[:150]))


def main():
    with h.Env() as env:
        bootstrap = env.start_broker([f"fault-in:{PARTITIONS}", f"fault-out:{PARTITIONS}"])
        broker = env.procs[-1]
        broker_out = env.path(broker.log_name + ".out")
        pipeline = env.write("p.yaml", PIPELINE)
        config = env.write("d.yaml", h.deployment(source_extra="commit_interval_ms: 200"))
        producer = h.SteadyProducer(bootstrap, "fault-in")
        producer.start()
        try:
            host = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                                  extra=["--log-level", "debug"])
            grow(bootstrap, 200, "output before the outage")

            broker.send_signal(signal.SIGUSR1)
            h.wait_for(lambda: "brokers down" in open(broker_out).read(), 10, "brokers down")
            outage_end = time.monotonic() + 10
            h.wait_for(lambda: time.monotonic() >= outage_end, 15, "the 10 s outage")
            broker.send_signal(signal.SIGUSR2)
            h.wait_for(lambda: "brokers up" in open(broker_out).read(), 10, "brokers up")
            grow(bootstrap, 200, "output after the outage", stall=120)

            for i in range(5):
                broker.send_signal(signal.SIGHUP)
                h.wait_for(lambda: open(broker_out).read().count("errors injected") > i, 10,
                           "errors injected")
                grow(bootstrap, 100, f"output after injected errors {i + 1}")
            assert host.poll() is None, env.log(host)
            producer.finish()
            inputs = h.partitions("fault-in", PARTITIONS)
            try:
                h.wait_committed_to_end(bootstrap, "pipeline-in", inputs, timeout=120)
            except AssertionError as e:
                ends = h.end_offsets(bootstrap, inputs)
                outs = h.end_offsets(bootstrap, h.partitions("fault-out", PARTITIONS))
                done = h.committed_offsets(bootstrap, "pipeline-in", inputs)
                raise AssertionError(f"{e}: inputs {ends}, outputs {outs}, committed {done}\n"
                                     f"{env.log(host)}") from None
            assert env.stop(host) == 0, env.log(host)
        finally:
            producer.done.set()

        sent = h.read_all(bootstrap, inputs)
        got = {r.value for r in h.read_all(bootstrap, h.partitions("fault-out", PARTITIONS))}
        lost = [r for r in sent if r.value.upper() not in got]
        assert not lost, lost_report(lost, env.log(host))
        wanted = {r.value for r in sent}
    print(f"ok: {len(wanted)} numbers through a 10 s outage and 5 bursts of errors")


if __name__ == "__main__":
    main()
