"""strict_offset_reset (the original's key): auto_offset_reset starts a
partition the group has no committed offset for; a committed offset the
broker does not have stops the host with the partition and the offset named,
commits nothing for it, and skips nothing. Without it (the default), the
policy applies to both, as librdkafka does, and the host's log warns of it."""
import os
import sys

from kafka.structs import OffsetAndMetadata, TopicPartition

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: in}
steps:
  - {kind: sink, name: out, stream_name: out}
"""
RECORDS = 20  # a partition
GONE = 1000   # a committed offset past the end of partition 0


def config(env, name, group, strict):
    extra = f"consumer_group: {group}\n" + ("strict_offset_reset: true\n" if strict else "")
    return env.write(f"{name}.yaml", h.deployment(source_extra=extra))


def commit(bootstrap, group, offsets):
    consumer = h.KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                               enable_auto_commit=False)
    try:
        consumer.commit({TopicPartition("in", p): OffsetAndMetadata(o, "")
                         for p, o in offsets.items()})
    finally:
        consumer.close()


def outputs(bootstrap):
    return sum(h.end_offsets(bootstrap, h.partitions("out", 2)).values())


def fresh_group_starts_by_policy(env, bootstrap, pipeline):
    host = env.start_host(pipeline, config(env, "fresh", "g-fresh", True), bootstrap,
                          name="fresh")
    h.wait_for(lambda: outputs(bootstrap) >= 2 * RECORDS or host.poll() is not None, 60,
               "the strict host to read a new group's partitions from the start")
    assert host.poll() is None, env.log(host)
    h.wait_committed_to_end(bootstrap, "g-fresh", h.partitions("in", 2))
    assert env.stop(host) == 0, env.log(host)
    assert outputs(bootstrap) == 2 * RECORDS, outputs(bootstrap)


def strict_stops_on_a_gone_offset(env, bootstrap, pipeline):
    commit(bootstrap, "g-gone", {0: GONE, 1: 5})
    before = outputs(bootstrap)
    host = env.start_host(pipeline, config(env, "gone", "g-gone", True), bootstrap, name="gone")
    h.wait_for(lambda: host.poll() is not None, 60, "the strict host to stop")
    log = env.log(host)
    assert host.returncode != 0, log
    assert f"partition 0: the committed offset {GONE} is not on the broker" in log, log
    assert "strict_offset_reset is set" in log, log
    # Partition 0 was neither read from another offset nor committed.
    assert h.committed_offsets(bootstrap, "g-gone", h.partitions("in", 2))[0] == GONE
    assert outputs(bootstrap) - before <= RECORDS - 5, (outputs(bootstrap), before)


def lenient_resets_a_gone_offset(env, bootstrap, pipeline):
    commit(bootstrap, "g-lenient", {0: GONE, 1: 5})
    before = outputs(bootstrap)
    host = env.start_host(pipeline, config(env, "lenient", "g-lenient", False), bootstrap,
                          name="lenient")
    # Partition 0 from its start (earliest), partition 1 from 5.
    expected = before + RECORDS + RECORDS - 5
    h.wait_for(lambda: outputs(bootstrap) >= expected or host.poll() is not None, 60,
               "the lenient host to read partition 0 again from its start")
    assert host.poll() is None, env.log(host)
    h.wait_for(lambda: h.committed_offsets(bootstrap, "g-lenient", h.partitions("in", 2)) ==
               {0: RECORDS, 1: RECORDS}, 60, "the lenient host's commits")
    assert env.stop(host) == 0, env.log(host)
    assert outputs(bootstrap) == expected, (outputs(bootstrap), expected)
    # librdkafka's reset is in the log as a warning.
    assert f"WARN  consumer: in [0]: offset reset (at offset {GONE}" in env.log(host), \
        env.log(host)


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["in:2", "out:2"])
        producer = h.KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        for n in range(RECORDS):
            for p in range(2):
                producer.send("in", value=b"p%d-%d" % (p, n), partition=p)
        producer.flush(timeout=30)
        producer.close()
        pipeline = env.write("p.yaml", PIPELINE)
        fresh_group_starts_by_policy(env, bootstrap, pipeline)
        strict_stops_on_a_gone_offset(env, bootstrap, pipeline)
        lenient_resets_a_gone_offset(env, bootstrap, pipeline)
    print("ok: strict and lenient offset resets")


if __name__ == "__main__":
    main()
