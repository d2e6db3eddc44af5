"""A segment pause after a reload that changes what a host follows. One host
runs; its deployment is rewritten, first with another control_topic (a
change applied without restarting the consumer), then with another consumer
group (applied with a restart) while the host is paused through its admin
port. After each, `streams-host pause --config` with the new deployment
returns once the host reports its partitions drained: the host follows the
new topic and group, not the ones it started with. The pause kept in the
state directory moves to the new group's file, and a segment resume lets
the host read on. A restart into a new group
holds the new consumer until the host has read that group's pauses."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PARTITIONS = 2
PIPELINE = """source: {name: in, stream_name: sr-in}
steps:
  - {kind: map, name: upper, plugin: testkit, function: upper}
  - {kind: sink, name: out, stream_name: sr-out}
"""
OUT = h.partitions("sr-out", PARTITIONS)


def outputs(bootstrap):
    return sum(h.end_offsets(bootstrap, OUT).values())


def rewrite(env, name, text):
    """Replaces the file at once, so the host's watcher never reads half."""
    os.replace(env.write(name + ".next", text), env.path(name))


def following(env, host, group):
    """The host's reload made its follower of `group`'s pauses (after the
    status shows the generation: the reload's last part)."""
    line = f"segment pause: following the pauses of group {group} in ops.pauses"
    h.wait_for(lambda: line in env.log(host), 30, line)


def pause_and_resume(env, config, pipeline, cli_env, port, group, topic, host):
    result = h.run_cli(["pause", "--config", config, pipeline, "--timeout-ms", "60000"],
                       env=cli_env, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"segment 0 paused: group {group} on topic sr-in ({topic} "), \
        result.stdout
    assert f"drained: {PARTITIONS} partition(s), reported by 1 host(s)" in result.stdout, \
        result.stdout
    assert h.host_status(port)["paused"], h.host_status(port)
    paused_file = env.path(f"state-host/{group}.paused")
    assert os.path.exists(paused_file), os.listdir(env.path("state-host"))
    result = h.run_cli(["resume", "--config", config, pipeline], env=cli_env)
    assert result.returncode == 0, result.stdout + result.stderr
    h.wait_for(lambda: not h.host_status(port)["paused"], 30, f"the host resumed ({group})")
    assert not os.path.exists(paused_file), paused_file
    assert "resumed by the operator (segment resume by " in env.log(host), env.log(host)


def held_until_followed(env, bootstrap, pipeline):
    """A consumer restarted into a new group is held, as at the start, until
    the host has read that group's pauses: with the control topic slow to
    read (6 s, longer than the group's join), it outputs nothing before."""
    def deployment(group):
        return h.deployment(source_extra="commit_interval_ms: 100\ncontrol_topic: ops.pauses\n"
                                         f"consumer_group: {group}")
    config = env.write("held.yaml", deployment("third"))
    os.environ["STREAMS_DELAY_POINT"] = "segment-catch-up:6000"
    try:
        host = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                              name="held", extra=["--admin-port", "0", "--state-dir",
                                                  env.path("state-held")])
    finally:
        del os.environ["STREAMS_DELAY_POINT"]
    h.admin_port(env, host)
    h.wait_committed_to_end(bootstrap, "third", h.partitions("sr-in", PARTITIONS))
    before = outputs(bootstrap)
    rewrite(env, "held.yaml", deployment("fourth"))
    line = "segment pause: read; the restarted consumer goes on as they say"

    def read():
        count = outputs(bootstrap)  # before the log: an output counted came after its line
        log = env.log(host)
        assert line in log or count == before, (count, before, log[-3000:])
        return line in log
    h.wait_for(read, 60, "the pauses of group fourth read")
    assert "segment pause: the restarted consumer of group fourth waits until this host has " \
        "read that group's pauses" in env.log(host), env.log(host)
    h.wait_committed_to_end(bootstrap, "fourth", h.partitions("sr-in", PARTITIONS))
    inputs = sum(h.end_offsets(bootstrap, h.partitions("sr-in", PARTITIONS)).values())
    assert outputs(bootstrap) == before + inputs, (outputs(bootstrap), before, inputs)
    assert env.stop(host) == 0, env.log(host)


def main():
    with h.Env() as env:
        bootstrap = env.start_broker([f"sr-in:{PARTITIONS}", f"sr-out:{PARTITIONS}"])
        pipeline = env.write("p.yaml", PIPELINE)
        config = env.write("d.yaml", h.deployment(source_extra="commit_interval_ms: 100"))
        cli_env = dict(os.environ, BOOTSTRAP_SERVERS=bootstrap)
        host = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                              extra=["--admin-port", "0", "--state-dir", env.path("state-host")])
        port = h.admin_port(env, host)
        producer = h.SteadyProducer(bootstrap, "sr-in")
        producer.start()
        try:
            h.wait_for(lambda: outputs(bootstrap) >= 100, 60, "the first outputs")

            rewrite(env, "d.yaml", h.deployment(
                source_extra="commit_interval_ms: 100\ncontrol_topic: ops.pauses"))
            last = h.wait_generation(port, 2)["last_reload"]
            assert last["outcome"] == "applied" and not last["restarted_consumer"], last
            assert "the source's control_topic (segment pauses)" in last["changes"], last
            following(env, host, "pipeline-in")
            pause_and_resume(env, config, pipeline, cli_env, port, "pipeline-in", "ops.pauses",
                             host)

            result = h.run_cli(["pause", "--admin-port", str(port)])
            assert result.returncode == 0, result.stdout + result.stderr
            assert os.path.exists(env.path("state-host/pipeline-in.paused"))
            rewrite(env, "d.yaml", h.deployment(
                source_extra="commit_interval_ms: 100\ncontrol_topic: ops.pauses\n"
                             "consumer_group: second"))
            last = h.wait_generation(port, 3, timeout=60)["last_reload"]
            assert last["outcome"] == "applied" and last["restarted_consumer"], last
            following(env, host, "second")
            assert h.host_status(port)["paused"], h.host_status(port)
            assert os.listdir(env.path("state-host")).count("pipeline-in.paused") == 0
            assert os.path.exists(env.path("state-host/second.paused"))
            h.wait_for(lambda: h.host_status(port)["partitions"], 60,
                       "the host holding partitions of the second group")
            pause_and_resume(env, config, pipeline, cli_env, port, "second", "ops.pauses", host)
            before = outputs(bootstrap)
            h.wait_for(lambda: outputs(bootstrap) > before + 50, 60, "outputs after the resume")
        finally:
            producer.done.set()
        assert env.stop(host) == 0, env.log(host)
        held_until_followed(env, bootstrap, pipeline)
    print("ok")


if __name__ == "__main__":
    main()
