"""A segment's pause, `streams-host pause --config D PIPELINE`: written to the
control topic on the segment's brokers and followed by every host of its
group. While a steady producer writes, two hosts drain, each reporting the
partitions it holds, and the command returns once their reports cover the
topic. A host started during the pause, with a state directory of its own
(a new pod), starts paused; inputs wait on every partition and nothing more
is output or committed. `streams-host resume --config` resumes them all, and
every input is output exactly once. Without --admin-port or --config the
command says what it needs. The deployment names its own control topic
(control_topic), which the command and the hosts use; an invalid name is a
config error."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PARTITIONS = 4
PIPELINE = """source: {name: in, stream_name: sg-in}
steps:
  - {kind: map, name: upper, plugin: testkit, function: upper}
  - {kind: sink, name: out, stream_name: sg-out}
"""
IN = h.partitions("sg-in", PARTITIONS)
OUT = h.partitions("sg-out", PARTITIONS)


def outputs(bootstrap):
    return sum(h.end_offsets(bootstrap, OUT).values())


def held(ports):
    """Every partition of the topic is assigned to one of the hosts at
    `ports`, paused by the operator, and every host says it is paused."""
    statuses = [h.host_status(port) for port in ports]
    parts = [p for s in statuses for p in s["partitions"]]
    return (all(s["paused"] for s in statuses) and len(parts) == PARTITIONS
            and all(p["paused"] for p in parts))


def check_held(bootstrap, ports, out_before, what):
    """New inputs arrive on every partition and each stops at them: nothing
    more is output or committed."""
    h.wait_for(lambda: held(ports), 60, f"every partition paused ({what})")
    committed = h.committed_offsets(bootstrap, "pipeline-in", IN)
    h.wait_for(lambda: all(end > committed[p] for p, end in h.end_offsets(bootstrap, IN).items()),
               30, f"inputs after every partition's committed offset ({what})")
    assert outputs(bootstrap) == out_before, (what, outputs(bootstrap), out_before)
    assert h.committed_offsets(bootstrap, "pipeline-in", IN) == committed, what


def main():
    with h.Env() as env:
        bootstrap = env.start_broker([f"sg-in:{PARTITIONS}", f"sg-out:{PARTITIONS}"])
        pipeline = env.write("p.yaml", PIPELINE)
        config = env.write("d.yaml", h.deployment(
            source_extra="commit_interval_ms: 100\ncontrol_topic: ops.pauses"))
        cli_env = dict(os.environ, BOOTSTRAP_SERVERS=bootstrap)
        bad = env.write("bad.yaml", h.deployment(source_extra="control_topic: ops/pauses"))
        result = h.run_cli(["validate", "--config", bad, "--plugins-dir", h.TEST_PLUGINS_DIR,
                            pipeline], env=cli_env)
        assert result.returncode == 2, result
        assert "steps_config.in.control_topic: 'ops/pauses' is not a valid Kafka topic name" in \
            result.stderr, result.stderr

        def start(name):  # each its own state directory: no pause file shared
            proc = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                                  name=name, extra=["--admin-port", "0", "--state-dir",
                                                    env.path("state-" + name)])
            return proc, h.admin_port(env, proc)

        result = h.run_cli(["pause"], env=cli_env)
        assert result.returncode == 2, result
        assert "name the host (--admin-port) or the segment (--config and PIPELINE)" in \
            result.stderr, result.stderr

        (a, a_port), (b, b_port) = start("a"), start("b")
        # The group settled first: the dev broker refuses commits while its
        # group rebalances ("Group rebalance in progress"), so a revoke under
        # load cannot commit and the new owner reads inputs again (at least
        # once), which would blur the counts below.
        h.wait_for(lambda: all(h.host_status(p)["partitions"] for p in (a_port, b_port)), 60,
                   "both hosts holding partitions")
        producer = h.SteadyProducer(bootstrap, "sg-in")
        producer.start()
        try:
            h.wait_for(lambda: outputs(bootstrap) >= 200, 60, "the first outputs")
            result = h.run_cli(["pause", "--config", config, pipeline, "--timeout-ms", "60000"],
                               env=cli_env, timeout=90)
            assert result.returncode == 0, result.stdout + result.stderr
            assert result.stdout.startswith("segment 0 paused: group pipeline-in on topic sg-in "
                                            "(ops.pauses offset 0)"), result.stdout
            assert "drained: 4 partition(s), reported by 2 host(s)" in result.stdout, result.stdout
            # Drained: what the hosts began is committed, its outputs all there.
            committed = h.committed_offsets(bootstrap, "pipeline-in", IN)
            assert outputs(bootstrap) == sum(max(c, 0) for c in committed.values()), \
                (committed, outputs(bootstrap))
            out = outputs(bootstrap)
            check_held(bootstrap, [a_port, b_port], out, "paused")

            # A host started now, knowing nothing of the pause, starts paused.
            c, c_port = start("c")
            h.wait_for(lambda: h.host_status(c_port)["partitions"], 60,
                       "the new host holding partitions")
            check_held(bootstrap, [a_port, b_port, c_port], out, "a new host")
            assert re.search(r"paused by the operator \(segment pause by .+?, "
                             r"ops\.pauses offset 0\)", env.log(c)), env.log(c)

            result = h.run_cli(["resume", "--config", config, pipeline], env=cli_env)
            assert result.returncode == 0, result.stdout + result.stderr
            assert result.stdout.startswith("segment 0 resumed"), result.stdout
            h.wait_for(lambda: outputs(bootstrap) > out, 60, "outputs after the resume")
            sent = producer.finish()
            h.wait_committed_to_end(bootstrap, "pipeline-in", IN, timeout=120)
        finally:
            producer.done.set()
        for proc in (a, b, c):
            assert env.stop(proc) == 0, env.log(proc)
            assert "resumed by the operator (segment resume by " in env.log(proc), env.log(proc)
        values = sorted(h.read_values(bootstrap, "sg-out"))
        expected = sorted(b"N%d" % n for n in range(sent))
        assert values == expected, (len(values), len(expected),
                                    sorted(set(expected) - set(values))[:5])
    print("ok")


if __name__ == "__main__":
    main()
