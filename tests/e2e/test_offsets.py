"""`streams-host offsets show|reset`: a pipeline's group read and moved by the
tool, checked with kafka-python. A move is refused while a host of the group
runs; stopped, the group moves to a time (the dev broker has no time index:
the tool reads the partitions) and the restarted host reads exactly the
records after it again. A stateful segment is not moved back without
--force; a split pipeline names the segment to move."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: in}
steps:
  - {kind: sink, name: out, stream_name: out}
"""
STATEFUL = """name: counter
source: {name: in, stream_name: in}
steps:
  - {kind: map, name: count, plugin: examples, function: running_count, state: {}}
  - {kind: sink, name: out, stream_name: counts}
"""
# The stateful step in a branch.
STATEFUL_BRANCH = """name: counter
source: {name: in, stream_name: in}
steps:
  - kind: broadcast
    name: fan
    branches:
      plain: [{kind: sink, name: out, stream_name: out}]
      counted:
        - {kind: map, name: count, plugin: examples, function: running_count, state: {}}
        - {kind: sink, name: counts, stream_name: counts}
"""
SPLIT = """name: split
source: {name: in, stream_name: in}
steps:
  - {kind: map, name: up, plugin: testkit, function: upper}
  - {kind: map, name: again, plugin: testkit, function: upper}
  - {kind: sink, name: out, stream_name: out}
"""
SPLIT_DEPLOYMENT = """pipeline:
  segments:
    - steps_config:
        in: {bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"], consumer_group: g}
    - steps_config:
        again: {starts_segment: true}
        out: {bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]}
"""
RECORDS = 20  # a partition
T0 = 1_700_000_000_000  # the first record's timestamp; one a second after it


def produce(bootstrap):
    """RECORDS a partition, record i of each at T0 + i seconds."""
    producer = h.KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for p in range(2):
            for i in range(RECORDS):
                producer.send("in", value=b"v%d-%d" % (p, i), partition=p,
                              timestamp_ms=T0 + i * 1000)
        producer.flush(timeout=30)
    finally:
        producer.close()


def offsets(args, env):
    return h.run_cli(["offsets", *args], env=env)


def as_json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def outputs(bootstrap):
    return sum(h.end_offsets(bootstrap, h.partitions("out", 2)).values())


def committed(bootstrap):
    return h.committed_offsets(bootstrap, "g", h.partitions("in", 2))


def show_and_refuse_while_running(env, bootstrap, run_env, files):
    host = env.start_host(*files, bootstrap, name="first")
    h.wait_committed_to_end(bootstrap, "g", h.partitions("in", 2))
    shown = as_json(offsets(["show", "--config", files[1], "--format", "json", files[0]],
                            run_env))
    (segment,) = shown["segments"]
    assert segment["group"] == "g" and segment["topic"] == "in", segment
    assert [(p["committed"], p["end"], p["lag"]) for p in segment["partitions"]] == \
        [(RECORDS, RECORDS, 0)] * 2, segment

    # The group has a member: the broker refuses, and nothing moves.
    moved = offsets(["reset", "--config", files[1], "--to-earliest", "--execute", files[0]],
                    run_env)
    assert moved.returncode == 1, (moved.stdout, moved.stderr)
    assert "group g did not take the new offsets" in moved.stderr, moved.stderr
    assert "The group has members: stop segment 0's hosts first" in moved.stderr, moved.stderr
    assert committed(bootstrap) == {0: RECORDS, 1: RECORDS}
    assert env.stop(host) == 0, env.log(host)


def move_to_a_time_and_read_again(env, bootstrap, run_env, files):
    at = "2023-11-14T22:13:30Z"  # T0 + 10 s: offset 10 of each partition
    args = ["reset", "--config", files[1], "--format", "json", "--to-datetime", at, files[0]]
    plan = as_json(offsets(args, run_env))
    assert plan["executed"] is False, plan
    assert [(p["new"], p["moves"]) for p in plan["partitions"]] == [(10, -10)] * 2, plan
    assert committed(bootstrap) == {0: RECORDS, 1: RECORDS}  # a dry run
    done = offsets([*args, "--execute"], run_env)
    assert as_json(done)["executed"] is True
    assert "found by reading them from their start" in done.stderr, done.stderr
    assert committed(bootstrap) == {0: 10, 1: 10}

    before = outputs(bootstrap)
    host = env.start_host(*files, bootstrap, name="again")
    h.wait_committed_to_end(bootstrap, "g", h.partitions("in", 2))
    assert env.stop(host) == 0, env.log(host)
    assert outputs(bootstrap) == before + 2 * 10, (outputs(bootstrap), before)


def other_targets(bootstrap, run_env, files):
    config, pipeline = files[1], files[0]
    moved = offsets(["reset", "--config", config, "--shift-by", "-5", "--partition", "0",
                     "--execute", pipeline], run_env)
    assert moved.returncode == 0, moved.stderr
    assert "committed 1 partition(s) of in for group g" in moved.stdout, moved.stdout
    assert committed(bootstrap) == {0: RECORDS - 5, 1: RECORDS}
    # Past the end: clamped to it.
    assert as_json(offsets(["reset", "--config", config, "--to-offset", "999", "--execute",
                            "--format", "json", pipeline], run_env))["executed"]
    assert committed(bootstrap) == {0: RECORDS, 1: RECORDS}
    plan = as_json(offsets(["reset", "--config", config, "--by-duration", "1h", "--format",
                            "json", pipeline], run_env))
    assert [p["new"] for p in plan["partitions"]] == [RECORDS] * 2, plan  # all are older
    assert as_json(offsets(["reset", "--config", config, "--to-earliest", "--execute",
                            "--format", "json", pipeline], run_env))["executed"]
    assert committed(bootstrap) == {0: 0, 1: 0}


def bad_arguments(run_env, files):
    config, pipeline = files[1], files[0]
    for args, why in [
        (["--to-datetime", "yesterday"], "--to-datetime yesterday: expected ISO 8601"),
        (["--by-duration", "5 minutes"], "--by-duration 5 minutes: expected a whole number"),
        (["--to-earliest", "--partition", "7"], "topic in has no partition 7 (it has 2)"),
    ]:
        result = offsets(["reset", "--config", config, *args, pipeline], run_env)
        assert result.returncode == 2 and why in result.stderr, (args, result.stderr)
    both = offsets(["reset", "--config", config, "--to-earliest", "--to-latest", pipeline],
                   run_env)
    assert both.returncode == 2 and "Exactly 1 option from [--to-earliest" in both.stderr, \
        both.stderr


def stateful_needs_force(env, run_env, config):
    pipeline = env.write("stateful.yaml", STATEFUL)
    ahead = offsets(["reset", "--config", config, "--to-latest", "--execute", pipeline], run_env)
    assert ahead.returncode == 0 and "state" not in ahead.stderr, ahead.stderr  # skips freely
    back = ["reset", "--config", config, "--shift-by", "-1", "--execute", pipeline]
    refused = offsets(back, run_env)
    assert refused.returncode == 1, (refused.stdout, refused.stderr)
    assert "segment 0 keeps state (count)" in refused.stderr, refused.stderr
    assert "--force moves it anyway" in refused.stderr, refused.stderr
    forced = offsets([*back, "--force"], run_env)
    assert forced.returncode == 0, forced.stderr
    assert "applied again" in forced.stderr, forced.stderr
    branched = env.write("stateful-branch.yaml", STATEFUL_BRANCH)
    refused = offsets([*back[:-1], branched], run_env)
    assert refused.returncode == 1, (refused.stdout, refused.stderr)
    assert "segment 0 keeps state (count)" in refused.stderr, refused.stderr


def split_pipeline(env, run_env):
    pipeline = env.write("split.yaml", SPLIT)
    config = env.write("split-d.yaml", SPLIT_DEPLOYMENT)
    shown = as_json(offsets(["show", "--config", config, "--format", "json", pipeline], run_env))
    assert [(s["segment"], s["group"], s["topic"]) for s in shown["segments"]] == \
        [(0, "g", "in"), (1, "pipeline-again", "split-again")], shown
    result = offsets(["reset", "--config", config, "--to-latest", pipeline], run_env)
    assert result.returncode == 2, result.stderr
    assert "has 2 segments: choose the one to move with --segment-id" in result.stderr


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["in:2", "out:2"])
        run_env = {**os.environ, "BOOTSTRAP_SERVERS": bootstrap}
        produce(bootstrap)
        files = (env.write("p.yaml", PIPELINE),
                 env.write("d.yaml", h.deployment(source_extra="consumer_group: g")))
        show_and_refuse_while_running(env, bootstrap, run_env, files)
        move_to_a_time_and_read_again(env, bootstrap, run_env, files)
        other_targets(bootstrap, run_env, files)
        bad_arguments(run_env, files)
        stateful_needs_force(env, run_env, files[1])
        split_pipeline(env, run_env)
    print("ok")


if __name__ == "__main__":
    main()
