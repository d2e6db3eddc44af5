"""Segments as separate processes linked by a topic: a two-segment pipeline,
three hosts per segment (`run --segment-id N`) on the dev broker, a steady
numbered keyed stream, and one host of each segment killed (-9) mid-stream.
Every number reaches the final sink with its key, and for each key the first
deliveries keep the order of the input. The same files without --segment-id
run both segments in one process (no intermediate topic)."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PARTITIONS = 6
KEYS = 12
PIPELINE = """name: seg
source: {name: in, stream_name: seg-in}
steps:
  - {kind: map, name: up, plugin: testkit, function: upper}
  - {kind: map, name: again, plugin: testkit, function: upper}
  - {kind: sink, name: out, stream_name: %s}
"""
SOURCE = """auto_offset_reset: earliest
          commit_interval_ms: 200
          override_params: {session.timeout.ms: "6000"}"""
DEPLOYMENT = """pipeline:
  segments:
    - steps_config:
        in:
          bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]
          %s
    - steps_config:
        again:
          starts_segment: true
          %s
        out: {bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]}
""" % (SOURCE, SOURCE)


def count(bootstrap, topic):
    return sum(h.end_offsets(bootstrap, h.partitions(topic, PARTITIONS)).values())


def check(bootstrap, topic, total):
    """Every number in `topic` with its key; per key, first deliveries in order."""
    first = {}
    for r in h.read_all(bootstrap, h.partitions(topic, PARTITIONS)):
        n = int(r.value.decode()[1:])
        assert r.value == b"V%d" % n and r.key == b"k%d" % (n % KEYS), r
        first.setdefault(r.key, [])
        if n not in first[r.key]:
            first[r.key].append(n)
    numbers = set()
    for key, ns in first.items():
        assert ns == sorted(ns), (key, ns[:20])
        numbers.update(ns)
    missing = sorted(set(range(total)) - numbers)
    assert not missing, missing[:10]


def main():
    with h.Env() as env:
        topics = ["seg-in", "seg-again", "seg-out", "one-out"]
        bootstrap = env.start_broker([f"{t}:{PARTITIONS}" for t in topics])
        pipeline = env.write("p.yaml", PIPELINE % "seg-out")
        config = env.write("d.yaml", DEPLOYMENT)
        producer = h.SteadyProducer(bootstrap, "seg-in", keys=KEYS, value=lambda n: b"v%d" % n)
        producer.start()
        try:
            hosts = {}
            for segment in (0, 1):
                for i in range(3):
                    hosts[segment, i] = env.start_host(
                        pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                        name=f"s{segment}-{i}", extra=["--segment-id", str(segment)])
            h.wait_progress(lambda: count(bootstrap, "seg-out"), 600, 90, "output of segment 1")
            for segment in (0, 1):
                hosts[segment, 0].kill()  # SIGKILL
                hosts[segment, 0].wait()
            target = count(bootstrap, "seg-out") + 600
            h.wait_progress(lambda: count(bootstrap, "seg-out"), target, 90,
                            "output after a host of each segment was killed")
            total = producer.finish()
            h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("seg-in", PARTITIONS),
                                    timeout=120)
            h.wait_committed_to_end(bootstrap, "pipeline-again",
                                    h.partitions("seg-again", PARTITIONS), timeout=120)
            for (segment, i), host in hosts.items():
                if i > 0:
                    assert env.stop(host) == 0, env.log(host)
        finally:
            producer.done.set()
        assert count(bootstrap, "seg-again") >= total  # everything crossed the topic
        check(bootstrap, "seg-out", total)
        log = env.log(hosts[1, 1])
        assert "seg-again" in log, log  # segment 1 reads the intermediate topic

        # The dev broker cannot create the topic into segment 1: refused, naming it.
        missing = env.write("d2.yaml", DEPLOYMENT.replace("starts_segment: true",
                                                          "starts_segment: true\n"
                                                          "          topic: seg-missing"))
        refused = env.start_host(pipeline, missing, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                                 name="refused", extra=["--segment-id", "0"])
        h.wait_for(lambda: refused.poll() is not None, 60, "the host to refuse")
        assert refused.returncode != 0, env.log(refused)
        assert ("the topic seg-missing into the next segment does not exist" in env.log(refused)
                and "--topic seg-missing:6" in env.log(refused)), env.log(refused)

        # Without --segment-id: both segments in one process, a group of its own.
        whole = env.write("whole.yaml", (PIPELINE % "one-out").replace("name: seg\n",
                                                                        "name: whole\n"))
        single = env.write("d1.yaml", DEPLOYMENT.replace("in:\n", "in:\n          "
                                                         "consumer_group: whole\n", 1))
        host = env.start_host(whole, single, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                              name="whole")
        h.wait_committed_to_end(bootstrap, "whole", h.partitions("seg-in", PARTITIONS),
                                timeout=120)
        assert env.stop(host) == 0, env.log(host)
        check(bootstrap, "one-out", total)
    print(f"ok: {total} numbers through two segments of three hosts, one of each killed")


if __name__ == "__main__":
    main()
