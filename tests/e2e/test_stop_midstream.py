"""Stops while the consumer holds a backlog of fetched, unprocessed records
(librdkafka's close used to assert on them, exit 134): a slow step (200 us a
record) keeps thousands queued. Input comes from kcat and from kafka-python.
- SIGTERM, five times in a row: exit 0 each time, and the group is left.
- The `fail` policy stopping at a bad record, and error_limits stopping the
  host, with records queued behind: exit 1, nothing committed past the record.
- A reload that restarts the consumer (a new sink topic) with a backlog: it
  applies, the host goes on and stops cleanly.
At the end every input is in an output."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: %s}
steps:
  - {kind: map, name: slow, plugin: testkit, function: sleepy, config: {us: 200}}
  - {kind: map, name: check, plugin: testkit, function: picky}
  - {kind: sink, name: out, stream_name: %s}
"""
STOPS = 5
HALF = 4000  # records from each client


def values(n, start=0, bad=()):
    return [(b"k%d" % i, b"bad%d" % i if i in bad else b"v%d" % i) for i in range(start, start + n)]


def load(bootstrap, topic, bad=()):
    """HALF records by kcat, then HALF by kafka-python; returns their count."""
    h.produce_kcat(bootstrap, topic, values(HALF, bad=bad))
    h.produce(bootstrap, topic, [(k, v, []) for k, v in values(HALF, HALF, bad)])
    return 2 * HALF


def output_count(bootstrap, topic):
    return h.end_offsets(bootstrap, h.partitions(topic, 1))[0]


def exited(host, timeout=60):
    return h.wait_for(lambda: host.poll() is not None and (host.returncode,), timeout,
                      f"{host.log_name} to exit")[0]


def assert_no_abort(env, host):
    log = env.log(host)
    assert "assert" not in log and "Aborted" not in log, log


def sigterm_stops(env, bootstrap, config):
    pipeline = env.write("p.yaml", PIPELINE % ("sm-in", "sm-out"))
    total = load(bootstrap, "sm-in")
    for run in range(STOPS):
        host = env.start_host(pipeline, config, bootstrap, name=f"run{run}",
                              plugins_dir=h.TEST_PLUGINS_DIR)
        target = output_count(bootstrap, "sm-out") + 300
        h.wait_for(lambda: output_count(bootstrap, "sm-out") >= target, 60, f"run {run}'s outputs")
        status = env.stop(host, timeout=60)
        assert status == 0, (run, status, env.log(host))
        assert_no_abort(env, host)
        log = env.log(host)
        assert "did not leave its group" not in log, log
        committed = h.committed_offsets(bootstrap, "pipeline-in", h.partitions("sm-in", 1))[0]
        assert committed < total - 2000, (run, committed)  # >= 2,000 were still queued
    host = env.start_host(pipeline, config, bootstrap, name="last", plugins_dir=h.TEST_PLUGINS_DIR)
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("sm-in", 1), timeout=120)
    assert env.stop(host) == 0, env.log(host)
    got = set(h.read_values(bootstrap, "sm-out"))
    missing = [v for _, v in values(total) if v not in got]
    assert not missing, missing[:10]


def stops_at_bad_record(env, bootstrap, name, source_extra, message):
    """A record error stops the host with thousands of records queued behind."""
    topic = f"{name}-in"
    load(bootstrap, topic, bad={500, 501, 502})
    pipeline = env.write(f"{name}.yaml", PIPELINE % (topic, f"{name}-out"))
    config = env.write(f"{name}-d.yaml", h.deployment(source_extra=source_extra))
    host = env.start_host(pipeline, config, bootstrap, name=name, plugins_dir=h.TEST_PLUGINS_DIR)
    status = exited(host)
    assert status == 1, (status, env.log(host))
    assert_no_abort(env, host)
    assert message in env.log(host), env.log(host)
    committed = h.committed_offsets(bootstrap, "pipeline-in", h.partitions(topic, 1))[0]
    assert committed <= 502, committed


def restarting_reload(env, bootstrap, config):
    # 1 ms a record: the reload (a CLI start, plugins loaded again, the
    # consumer restarted) has seconds, not one, before the backlog is gone,
    # under the sanitizers on a loaded machine too.
    slower = PIPELINE.replace("us: 200", "us: 1000")
    pipeline = env.write("r.yaml", slower % ("rl-in", "rl-out"))
    total = load(bootstrap, "rl-in")
    host = env.start_host(pipeline, config, bootstrap, name="reload",
                          plugins_dir=h.TEST_PLUGINS_DIR, extra=["--admin-port", "0", "--no-watch"])
    port = h.admin_port(env, host)
    h.wait_for(lambda: output_count(bootstrap, "rl-out") >= 300, 60, "outputs before the reload")
    env.write("r.yaml", slower % ("rl-in", "rl-out2"))
    result = h.run_cli(["reload", "--admin-port", str(port)])
    assert result.returncode == 0, (result.stdout, result.stderr, env.log(host))
    outcome = json.loads(result.stdout)
    assert outcome["restarted_consumer"], outcome
    assert_no_abort(env, host)
    assert output_count(bootstrap, "rl-in") - output_count(bootstrap, "rl-out") > 2000, \
        "the restart came after the backlog was processed"
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("rl-in", 1), timeout=120)
    assert host.poll() is None, env.log(host)
    assert env.stop(host) == 0, env.log(host)
    got = set(h.read_values(bootstrap, "rl-out")) | set(h.read_values(bootstrap, "rl-out2"))
    missing = [v for _, v in values(total) if v not in got]
    assert not missing, missing[:10]


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(
            ["sm-in:1", "sm-out:1", "pol-in:1", "pol-out:1", "lim-in:1", "lim-out:1",
             "lim-dlq:1", "rl-in:1", "rl-out:1", "rl-out2:1"])
        config = env.write("d.yaml", h.deployment())
        sigterm_stops(env, bootstrap, config)
        stops_at_bad_record(env, bootstrap, "pol", "", "error_policy is fail")
        stops_at_bad_record(env, bootstrap, "lim",
                            "dlq: {topic: lim-dlq}\nerror_limits: {max_consecutive_failures: 3}",
                            "too many failed records: 3 inputs in a row failed")
        restarting_reload(env, bootstrap, config)
    print("ok")


if __name__ == "__main__":
    main()
