"""Processing threads (`parallelism: 2`) on 8 partitions under a steady
numbered keyed stream: the two threads share the partitions (each a group
member), a hot reload under load switches both (switch points for all 8
partitions, each output stamped with the version its partition ran), a
SIGTERM stop commits exactly (nothing it output is output again), and
after a kill -9 nothing is lost. Per input partition the first deliveries
keep the input's order; the file both threads append to has whole lines."""
import json
import os
import re
import shutil
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PARTITIONS = 8
KEYS = 16
PIPELINE = """source: {name: in, stream_name: par-in}
steps:
  - {kind: map, name: stamp, plugin: stamp, function: stamp}
  - kind: broadcast
    name: both
    branches:
      kafka: [{kind: sink, name: out, stream_name: par-out}]
      file: [{kind: sink, name: lines, type: file, path: %s}]
"""


def outputs(bootstrap):
    return h.read_all(bootstrap, h.partitions("par-out", PARTITIONS))


def output_count(bootstrap):
    return sum(h.end_offsets(bootstrap, h.partitions("par-out", PARTITIONS)).values())


def parse(value):
    """(number, version, input partition, input offset) of a stamped output."""
    number, version, where, _ = value.decode().split(" ")
    partition, offset = (int(x) for x in where.split("@"))
    return int(number[1:]), version, partition, offset


def check_order(records):
    """Per output partition and input partition, first deliveries in input
    order (one thread at a time processes a partition, in order)."""
    seen, last = set(), {}
    for r in records:
        number, _, partition, offset = parse(r.value)
        if number in seen:
            continue
        seen.add(number)
        at = (r.partition, partition)
        assert offset > last.get(at, -1), (r.value, last.get(at))
        last[at] = offset


def assigned(port):
    """streams_assigned_partitions of the host: the sum over its threads."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        text = r.read().decode()
    m = re.search(r"^streams_assigned_partitions\{[^}]*\} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def status(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=30) as r:
        return json.loads(r.read())["partitions"]


def start(env, pipeline, config, bootstrap, plugins, name):
    return env.start_host(pipeline, config, bootstrap, plugins_dir=plugins, name=name,
                          extra=["--admin-port", "0"])


def main():
    with h.Env() as env:
        bootstrap = env.start_broker([f"par-in:{PARTITIONS}", f"par-out:{PARTITIONS}"])
        plugins = env.path("plugins")
        os.mkdir(plugins)
        stamp = os.path.join(plugins, "stamp.so")
        shutil.copyfile(os.path.join(h.TEST_PLUGINS_DIR, "stamp_v1.so"), stamp)
        lines = env.path("lines.txt")
        pipeline = env.write("p.yaml", PIPELINE % lines)
        config = env.write("d.yaml", h.deployment(source_extra="parallelism: 2\n"
                                                               "commit_interval_ms: 200"))
        producer = h.SteadyProducer(bootstrap, "par-in", keys=KEYS, value=lambda n: b"n%d" % n)
        try:
            first = start(env, pipeline, config, bootstrap, plugins, "first")
            port = h.admin_port(env, first)
            # The stream starts once both threads hold partitions (each logged
            # an assignment, and the merged metrics count all 8): the second
            # thread may join a rebalance after the first, and a rebalance may
            # output again what was in flight (at-least-once), which would
            # blur the check that the first host output nothing twice.
            h.wait_for(lambda: all(f"[thread {t}] assigned par-in[" in env.log(first)
                                   for t in (1, 2)) and assigned(port) == PARTITIONS,
                       60, "both threads' partitions")
            # /status names each partition once, with the thread that holds it.
            h.wait_for(lambda: (lambda ps: sorted(p["partition"] for p in ps) ==
                                list(range(PARTITIONS)) and
                                {p["thread"] for p in ps} == {1, 2})(status(port)),
                       30, "each partition and its thread in /status")
            producer.start()
            h.wait_progress(lambda: output_count(bootstrap), 400, 60, "the first outputs")

            # A reload under load switches both threads.
            shutil.copyfile(os.path.join(h.TEST_PLUGINS_DIR, "stamp_v2.so"), stamp + ".tmp")
            os.replace(stamp + ".tmp", stamp)
            last = h.wait_generation(port, 2)["last_reload"]
            assert last["outcome"] == "applied", last
            points = {p["partition"]: max(p["offset"], 0) for p in last["switch_points"]}
            assert sorted(points) == list(range(PARTITIONS)), last
            h.wait_progress(lambda: output_count(bootstrap), output_count(bootstrap) + 400, 60,
                            "outputs after the reload")

            # SIGTERM: drained and committed; the next host goes on from there.
            assert env.stop(first) == 0, env.log(first)
            stopped_at = h.end_offsets(bootstrap, h.partitions("par-out", PARTITIONS))
            second = start(env, pipeline, config, bootstrap, plugins, "second")
            h.wait_progress(lambda: output_count(bootstrap), output_count(bootstrap) + 400, 60,
                            "outputs of the second host")
            second.kill()  # SIGKILL mid-stream
            second.wait()
            third = start(env, pipeline, config, bootstrap, plugins, "third")
            h.wait_progress(lambda: output_count(bootstrap), output_count(bootstrap) + 400, 90,
                            "outputs after the kill")
            total = producer.finish()
            h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("par-in", PARTITIONS),
                                    timeout=120)
            assert env.stop(third) == 0, env.log(third)
        finally:
            producer.done.set()

        log = env.log(first)
        assert "2 processing threads" in log, log
        # Each thread got partitions, and says which lines are its own.
        assert "[thread 1] assigned par-in[" in log and "[thread 2] assigned par-in[" in log, log
        records = outputs(bootstrap)
        check_order(records)
        before, after, numbers = [], set(), set()
        for r in records:
            number, version, partition, offset = parse(r.value)
            numbers.add(number)
            if r.offset < stopped_at[r.partition]:
                before.append(number)
                wanted = h.expected_version(["1.0.0", "2.0.0"], [points], partition, offset)
                assert version == wanted, (r.value, wanted, points)
            else:
                after.add(number)
        assert len(before) == len(set(before)), "an output of the first host repeated itself"
        again = set(before) & after
        assert not again, f"output again after a SIGTERM stop: {sorted(again)[:10]}"
        missing = sorted(set(range(total)) - numbers)
        assert not missing, missing[:10]
        with open(lines, "rb") as f:
            in_file = {parse(line)[0] for line in f.read().splitlines()}  # whole lines parse
        assert in_file == numbers, sorted(numbers ^ in_file)[:10]
    print(f"ok: {total} numbers through two processing threads, a reload, a stop and a kill")


if __name__ == "__main__":
    main()
