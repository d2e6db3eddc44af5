"""Poison-pill quarantine: a plugin that segfaults on one record, and one
that aborts. The test restarts the host as a supervisor would; each crash is
logged with its step, plugin, signal and offset and recorded in the crash
journal. After crash_limit (2) crashes the next start does not call the step
on that record: it goes to the DLQ with kind `crash` (or, without a DLQ, the
`fail` policy stops with how to go past it, and skip-and-count skips it),
and every other record is delivered."""
import os
import signal
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: %(topic)s}
steps:
  - {kind: map, name: crash, plugin: testkit, function: crash, config: {on: poison, how: %(how)s}}
  - {kind: sink, name: out, stream_name: %(topic)s-out}
"""
RECORDS = 50
POISON = 20


def values():
    return [b"poison" if i == POISON else b"v%d" % i for i in range(RECORDS)]


def exited(host):
    return h.wait_for(lambda: host.poll() is not None and (host.returncode,), 60,
                      f"{host.log_name} to exit")[0]


def crash_twice(env, bootstrap, topic, how, config):
    pipeline = env.write(f"{topic}.yaml", PIPELINE % {"topic": topic, "how": how})
    signum = signal.SIGSEGV if how == "segv" else signal.SIGABRT
    for run in range(2):
        host = env.start_host(pipeline, config, bootstrap, name=f"{topic}-crash{run}",
                              plugins_dir=h.TEST_PLUGINS_DIR)
        assert exited(host) == -signum, env.log(host)
        log = env.log(host)
        line = (f"FATAL fatal signal {signum.name} in step 'crash' (plugin testkit 2.3.4) "
                f"at {topic}[0]@{POISON}; recorded in the crash journal")
        assert line in log, log
    return pipeline


def delivered_all_but_poison(bootstrap, topic):
    got = set(h.read_values(bootstrap, f"{topic}-out"))
    wanted = {v for v in values() if v != b"poison"}
    assert wanted <= got and b"poison" not in got, sorted(wanted - got)[:5]


def segfault_goes_to_the_dlq(env, bootstrap):
    config = env.write("dlq.yaml", h.deployment(source_extra="dlq: {topic: segv-dlq}"))
    pipeline = crash_twice(env, bootstrap, "segv", "segv", config)
    host = env.start_host(pipeline, config, bootstrap, name="segv-quarantine",
                          plugins_dir=h.TEST_PLUGINS_DIR, extra=["--admin-port", "0"])
    port = h.admin_port(env, host)
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("segv", 1))
    log = env.log(host)
    assert "quarantine: segv[0]@20 is not run through step 'crash'" in log, log
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    assert 'streams_crashes_total{pipeline="in",step="crash"} 2' in metrics, metrics
    assert env.stop(host) == 0, env.log(host)
    dead = h.read_all(bootstrap, h.partitions("segv-dlq", 1))
    assert len(dead) == 1 and dead[0].value == b"poison", dead
    headers = {k: v.decode() for k, v in dead[0].headers}
    assert headers["streams.error.kind"] == "crash", headers
    assert headers["streams.error.offset"] == str(POISON), headers
    assert "crashed 2 times (last: SIGSEGV) in step 'crash'" in headers["streams.error.message"]
    delivered_all_but_poison(bootstrap, "segv")


def abort_follows_the_error_policy(env, bootstrap):
    config = env.write("fail.yaml", h.deployment())
    pipeline = crash_twice(env, bootstrap, "abrt", "abort", config)
    host = env.start_host(pipeline, config, bootstrap, name="abrt-fail",
                          plugins_dir=h.TEST_PLUGINS_DIR)
    assert exited(host) == 1, env.log(host)
    log = env.log(host)
    assert "crash: the host crashed 2 times (last: SIGABRT)" in log, log
    assert "commit offset 21 of abrt[0] for group pipeline-in" in log, log
    skip = env.write("skip.yaml", h.deployment(source_extra="error_policy: skip-and-count"))
    host = env.start_host(pipeline, skip, bootstrap, name="abrt-skip",
                          plugins_dir=h.TEST_PLUGINS_DIR)
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("abrt", 1))
    assert env.stop(host) == 0, env.log(host)
    assert "skipped 1" in env.log(host), env.log(host)
    delivered_all_but_poison(bootstrap, "abrt")


def exit_is_a_crash(env, bootstrap):
    """exit(0) from a plugin is no clean stop: status 70, journaled, and with
    crash_limit 1 the next start sends the record to the DLQ."""
    config = env.write("exit.yaml", h.deployment(source_extra="dlq: {topic: exit-dlq}\n"
                                                               "crash_limit: 1"))
    pipeline = env.write("exit-p.yaml", PIPELINE % {"topic": "exit", "how": "exit"})
    host = env.start_host(pipeline, config, bootstrap, name="exit-crash",
                          plugins_dir=h.TEST_PLUGINS_DIR)
    assert exited(host) == 70, env.log(host)
    assert (f"FATAL unexpected exit() in step 'crash' (plugin testkit 2.3.4) at exit[0]@{POISON}"
            in env.log(host)), env.log(host)
    host = env.start_host(pipeline, config, bootstrap, name="exit-quarantine",
                          plugins_dir=h.TEST_PLUGINS_DIR)
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("exit", 1))
    assert env.stop(host) == 0, env.log(host)
    dead = h.read_all(bootstrap, h.partitions("exit-dlq", 1))
    assert [r.value for r in dead] == [b"poison"], dead
    delivered_all_but_poison(bootstrap, "exit")


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["segv:1", "segv-out:1", "segv-dlq:1", "abrt:1",
                                      "abrt-out:1", "exit:1", "exit-out:1", "exit-dlq:1"])
        for topic in ("segv", "abrt", "exit"):
            h.produce_kcat(bootstrap, topic, [(b"k%d" % i, v) for i, v in enumerate(values())])
        segfault_goes_to_the_dlq(env, bootstrap)
        abort_follows_the_error_policy(env, bootstrap)
        exit_is_a_crash(env, bootstrap)
    print("ok")


if __name__ == "__main__":
    main()
