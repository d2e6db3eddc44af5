"""A member that its group gives no partitions (a standby: more members than
partitions) answers GET /readyz 200, saying it is a standby, and reports
streams_ready 1: a rollout that waits for its new pods to be ready, or a
disruption budget that counts ready pods, is not held by it for good. When
the member holding the partition leaves, the standby takes it and
processes what comes next. A host whose source topic does not exist is no
standby: not ready, naming the topic, until the topic is created."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: sb-in}
steps:
  - {kind: map, name: up, plugin: testkit, function: upper}
  - {kind: sink, name: out, stream_name: sb-out}
"""


def missing_sink_topic(env, bootstrap):
    """A sink topic that does not exist: the host stops at the first output,
    naming the topic, the input uncommitted (the producer refuses it, or its
    delivery fails after topic.metadata.propagation.max.ms, here 1 s)."""
    pipeline = env.write("ghost-out.yaml",
                         PIPELINE.replace("sb-in", "sb-in2").replace("sb-out", "sb-ghost"))
    config = env.write("ghost-out-d.yaml", h.deployment(source_extra="consumer_group: ghost-g")
                       .replace('out: {bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]}',
                                'out: {bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"], '
                                'override_params: {topic.metadata.propagation.max.ms: "1000"}}'))
    proc = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                          name="ghost-out")
    h.wait_for(lambda: "assigned sb-in2[0]" in env.log(proc), 60, "the partition assigned")
    h.produce(bootstrap, "sb-in2", [(None, b"kept", [])])
    h.wait_for(lambda: proc.poll() is not None, 60, "the host to stop")
    assert proc.returncode != 0, env.log(proc)
    assert "sb-ghost: Broker: Unknown topic or partition (the sink's brokers say the topic " \
        "does not exist" in env.log(proc) or "sb-ghost: producing an output failed: Local: " \
        "Unknown topic (the sink's brokers say the topic does not exist" in env.log(proc), \
        env.log(proc)
    assert h.committed_offsets(bootstrap, "ghost-g", h.partitions("sb-in2", 1)) == {0: 0}


def missing_topic(env, bootstrap, broker):
    """A host whose source topic the brokers say does not exist joins no
    group: not ready, saying which topic, and not a benign wait. Once the
    topic is created it joins within seconds (librdkafka asks again at each
    join attempt, not only at its 5-minute metadata refresh) and processes."""
    pipeline = env.write("ghost.yaml", PIPELINE.replace("sb-in", "sb-ghost")
                         .replace("sb-out", "sb-ghost-out"))
    config = env.write("ghost-d.yaml", h.deployment(source_extra="consumer_group: ghost-in"))
    proc = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                          name="ghost", extra=["--admin-port", "0"])
    port = h.admin_port(env, proc)
    want = (503, {"ok": False, "reason": "the source topic sb-ghost does not exist on its brokers"})
    h.wait_for(lambda: h.probe(port, "/readyz") == want, 30, "/readyz naming the missing topic")
    h.wait_for(lambda: (h.gauge(port, "streams_not_ready_seconds") or 0) > 0, 30,
               "streams_not_ready_seconds counting")
    assert h.gauge(port, "streams_ready") == 0

    broker.send_signal(signal.SIGRTMIN)  # the dev broker creates sb-ghost
    h.wait_for(lambda: "topics created" in env.output(broker), 30, "the topic created")
    h.wait_for(lambda: h.probe(port, "/readyz") == (200, {"ok": True}), 30,
               "the host ready once its topic exists")
    h.produce(bootstrap, "sb-ghost", [(None, b"late", [])])
    h.wait_for(lambda: h.read_values(bootstrap, "sb-ghost-out") == [b"LATE"], 30,
               "the record written")
    assert env.stop(proc) == 0, env.log(proc)


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["sb-in:1", "sb-out:1", "sb-in2:1", "sb-ghost-out:1"],
                                     extra=["--unknown-topic", "sb-ghost"])
        broker = env.procs[-1]
        pipeline = env.write("p.yaml", PIPELINE)
        config = env.write("d.yaml", h.deployment(source_extra="commit_interval_ms: 100"))
        missing_sink_topic(env, bootstrap)
        missing_topic(env, bootstrap, broker)

        def start(name):
            proc = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                                  name=name, extra=["--admin-port", "0"])
            return proc, h.admin_port(env, proc)

        first, first_port = start("first")
        status, body = h.probe(first_port, "/readyz")
        if status != 200:  # the group join takes seconds on the dev broker
            assert body["reason"] in ("starting", "joining the group"), body
        h.wait_for(lambda: h.probe(first_port, "/readyz") == (200, {"ok": True}), 60,
                   "the first host ready")

        second, second_port = start("second")
        ports = {first_port: first, second_port: second}

        def one_standby():
            answers = {port: h.probe(port, "/readyz") for port in ports}
            if any(status != 200 for status, _ in answers.values()):
                return None
            standby = [p for p, (_, body) in answers.items() if "standby" in body]
            return len(standby) == 1 and standby[0]
        standby_port = h.wait_for(one_standby, 60, "one host processing, the other a standby")
        assert h.probe(standby_port, "/readyz")[1] == \
            {"ok": True, "standby": "no partitions assigned"}
        h.wait_for(lambda: h.gauge(standby_port, "streams_ready") == 1, 30,
                   "streams_ready 1 on the standby")
        active_port = next(p for p in ports if p != standby_port)

        h.produce(bootstrap, "sb-in", [(None, b"one", [])])
        h.wait_for(lambda: h.read_values(bootstrap, "sb-out") == [b"ONE"], 60, "the first output")

        # The active member leaves: the standby takes the partition and processes.
        assert env.stop(ports[active_port]) == 0, env.log(ports[active_port])
        h.wait_for(lambda: h.probe(standby_port, "/readyz") == (200, {"ok": True}), 60,
                   "the standby, assigned the partition, ready")
        h.produce(bootstrap, "sb-in", [(None, b"two", [])])
        h.wait_for(lambda: h.read_values(bootstrap, "sb-out") == [b"ONE", b"TWO"], 60,
                   "the second output, from the former standby")
        assert env.stop(ports[standby_port]) == 0, env.log(ports[standby_port])
    print("ok")


if __name__ == "__main__":
    main()
