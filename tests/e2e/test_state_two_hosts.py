"""Platform state across hosts: two hosts, each with a state directory of
its own, share a consumer group running the counter while a producer writes
a steady keyed stream. One host is stopped mid-stream; the survivor takes
its partitions, restores their state from the changelog, and goes on. The
counts are exact (every count from 1 to each key's number of inputs, none
past it; a replayed input gives the count it gave the first time), and the
survivor's state, read through GET /state, equals the number of inputs per
key. A changelog topic with the wrong partition count, or missing on a broker
that cannot create it, is an error naming it."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
import test_state_restarts as counter  # noqa: E402

PARTITIONS = counter.PARTITIONS


def assigned(env, host):
    return "assigned " in env.log(host)


def refused(env, bootstrap, config):
    """A changelog topic with another partition count than the source's, or
    one the broker cannot create (the dev broker cannot), stops the start
    with an error naming it and what it needs."""
    hosts = {}
    for name in ("short", "missing"):
        pipeline = env.write(f"{name}.yaml", counter.PIPELINE.replace("name: counts",
                                                                      f"name: {name}"))
        hosts[name] = env.start_host(pipeline, config, bootstrap, name=name)
    for name, host in hosts.items():
        h.wait_for(lambda: host.poll() is not None, 60, f"the {name} changelog to be refused")
        assert host.returncode == 1, env.log(host)
    assert (f"the changelog topic short-count-changelog of step 'count' has 1 partition(s); "
            f"it needs {PARTITIONS}") in env.log(hosts["short"]), env.log(hosts["short"])
    assert ("the changelog topic missing-count-changelog of step 'count' does not exist and "
            "could not be created") in env.log(hosts["missing"]), env.log(hosts["missing"])
    assert f"dev-broker --topic missing-count-changelog:{PARTITIONS}" in env.log(hosts["missing"])


def main():
    with h.Env() as env:
        bootstrap = env.start_broker([f"clicks:{PARTITIONS}", f"click-counts:{PARTITIONS}",
                                      f"counts-count-changelog:{PARTITIONS}",
                                      "short-count-changelog:1"])
        pipeline = env.write("p.yaml", counter.PIPELINE)
        config = env.write("d.yaml", h.deployment(sink="out",
                                                  source_extra="commit_interval_ms: 200"))
        refused(env, bootstrap, config)
        producer = h.SteadyProducer(bootstrap, "clicks", keys=counter.KEYS)
        producer.start()
        try:
            survivor = env.start_host(pipeline, config, bootstrap, name="survivor",
                                      extra=["--admin-port", "0",
                                             "--state-dir", env.path("survivor")])
            h.wait_for(lambda: counter.output_count(bootstrap) >= 100, 60,
                       "the first host to make progress")
            leaver = env.start_host(pipeline, config, bootstrap, name="leaver",
                                    extra=["--state-dir", env.path("leaver")])
            # Both process: the second host took partitions and counts.
            h.wait_for(lambda: "restored in" in env.log(leaver), 60,
                       "the second host to be assigned and restored")
            target = counter.output_count(bootstrap) + 300
            h.wait_for(lambda: counter.output_count(bootstrap) >= target, 60,
                       "both hosts to make progress")
            assert env.stop(leaver) == 0, env.log(leaver)
            target = counter.output_count(bootstrap) + 300
            h.wait_for(lambda: counter.output_count(bootstrap) >= target, 90,
                       "the survivor to go on alone")
            producer.done.set()
            producer.join(timeout=120)
            h.wait_committed_to_end(bootstrap, "pipeline-in",
                                    h.partitions("clicks", PARTITIONS), timeout=120)
            port = h.admin_port(env, survivor)
            h.wait_for(lambda: all(counter.ready(port, p) for p in range(PARTITIONS)), 60,
                       "the survivor's partitions to be restored")
            inputs = counter.inputs_per_key(bootstrap)
            counter.check_state(port, inputs)
            assert env.stop(survivor) == 0, env.log(survivor)
            log = env.log(survivor)
            # It restored what the leaver had changed since it last held them.
            assert log.count("restored in") >= 2, log
            assert "from the changelog (offsets" in log, log
        finally:
            producer.done.set()
        duplicates = counter.check_counts(bootstrap, inputs, producer.sent)
        print(f"ok: {producer.sent} inputs, {duplicates} replayed output(s), counts exact")


if __name__ == "__main__":
    main()
