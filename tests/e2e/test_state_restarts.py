"""Platform state across crashes: a running count per key (the counter
example's stateful map) while a producer writes a steady keyed stream; the
host is killed with SIGKILL at random moments and restarted, then stopped
cleanly, restarted once more on new input, and drained. The counts are
exact: for each key the outputs hold every count from 1 to the number of
its inputs and none past it (a state that missed an input, or counted a
replayed one twice, would show a gap or a count too high), and a replayed
input gives the count it gave the first time. With its stores deleted while
it is stopped (or corrupt: set aside), the host restores them from the
changelog, key by key equal. Stopped, the stores on disk answer the same
through `streams-host state --config`."""
import json
import os
import random
import re
import shutil
import signal
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """name: counts
source: {name: in, stream_name: clicks}
steps:
  - {kind: map, name: count, plugin: examples, function: running_count, state: {}}
  - {kind: sink, name: out, stream_name: click-counts}
"""
PARTITIONS = 3
KEYS = 13
KILLS = int(os.environ.get("STREAMS_TEST_KILLS", 10))


def output_count(bootstrap):
    return sum(h.end_offsets(bootstrap, h.partitions("click-counts", PARTITIONS)).values())


def inputs_per_key(bootstrap):
    """{key: (partition, number of inputs)}."""
    inputs = {}
    for r in h.read_all(bootstrap, h.partitions("clicks", PARTITIONS)):
        _, n = inputs.get(r.key.decode(), (r.partition, 0))
        inputs[r.key.decode()] = (r.partition, n + 1)
    return inputs


def check_state(port, inputs):
    """Each key's count read from the running host, through `streams-host
    state get` and a scan of GET /state/count/PARTITION."""
    for key, (partition, n) in inputs.items():
        r = h.run_cli(["state", "get", "--admin-port", str(port), "count", str(partition), key])
        assert r.returncode == 0, (key, r.stdout, r.stderr)
        assert json.loads(r.stdout) == {"step": "count", "partition": partition, "key": key,
                                        "value": str(n)}, (key, n, r.stdout)
    for partition in range(PARTITIONS):
        with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/state/count/{partition}?prefix=k&limit=100",
                timeout=30) as r:
            scan = json.loads(r.read())
        want = sorted((k, str(n)) for k, (p, n) in inputs.items() if p == partition)
        assert [(e["key"], e["value"]) for e in scan["entries"]] == want, (partition, scan)
        assert scan["more"] is False
    def state_keys():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
            m = re.search(r'step_state_keys\{[^}]*step="count"[^}]*\} (\d+)', r.read().decode())
        return m and int(m.group(1)) > 0
    h.wait_for(state_keys, 30, "the step's store size in GET /metrics")
    r = h.run_cli(["state", "get", "--admin-port", str(port), "count", "0", "no-such-key"])
    assert r.returncode == 1 and "no-such-key" in r.stdout, (r.stdout, r.stderr)
    r = h.run_cli(["state", "get", "--admin-port", str(port), "nope", "0", "k1"])
    assert r.returncode == 1 and "keeps no state" in r.stdout, (r.stdout, r.stderr)


def check_stored_state(env, pipeline, config, bootstrap, inputs):
    """Each key's count read from the stores on disk, the host stopped:
    `streams-host state get|scan --config --pipeline`."""
    where = ["--config", config, "--pipeline", pipeline, "--state-dir", env.path("state")]
    run_env = {**os.environ, "BOOTSTRAP_SERVERS": bootstrap}

    def state(*args):
        return h.run_cli(["state", *args], env=run_env)

    stores = env.path("state/stores/counts")
    for key, (partition, n) in inputs.items():
        r = state("get", *where, "count", str(partition), key)
        assert r.returncode == 0, (key, r.stdout, r.stderr)
        got = json.loads(r.stdout)
        assert (got["key"], got["value"], got["store"]) == \
            (key, str(n), f"{stores}/partition-{partition}"), (key, n, got)
        assert got["checkpoint_offset"] > 0, got
    for partition in range(PARTITIONS):
        r = state("scan", *where, "--prefix", "k", "count", str(partition))
        assert r.returncode == 0, r.stderr
        want = sorted((k, str(n)) for k, (p, n) in inputs.items() if p == partition)
        assert [(e["key"], e["value"]) for e in json.loads(r.stdout)["entries"]] == want
    r = state("get", *where, "count", "0", "no-such-key")
    assert r.returncode == 1 and json.loads(r.stdout)["key"] == "no-such-key", r.stdout
    r = state("get", *where, "tally", "0", "k1")
    assert r.returncode == 2, r.stderr
    assert "step 'tally' keeps no state in segment 0 (its steps with state: count)" in r.stderr
    r = state("get", *where, "count", "7", "k1")
    assert r.returncode == 2, r.stderr
    assert f"no store of partition 7 in {stores} (partitions stored there: 0, 1, 2;" in \
        r.stderr, r.stderr
    r = state("get", "count", "0", "k1")
    assert r.returncode == 2 and "give --admin-port" in r.stderr, r.stderr


def ready(port, partition):
    """The host answers reads of `partition`: assigned, its state resolved."""
    r = h.run_cli(["state", "get", "--admin-port", str(port), "count", str(partition), "-"])
    return r.returncode != 2 and not any(
        why in r.stdout for why in ("not assigned", "resolved", "restoring"))


def answers(env, pipeline, config, bootstrap, name, inputs):
    """Starts a host on no new input, checks that it answers every key's count
    (`inputs`) once its partitions are assigned and resolved, stops it;
    returns its log."""
    host = env.start_host(pipeline, config, bootstrap, name=name, extra=["--admin-port", "0"])
    port = h.admin_port(env, host)
    h.wait_for(lambda: all(ready(port, p) for p in range(PARTITIONS)), 60,
               f"{name}'s partitions to be assigned and resolved")
    check_state(port, inputs)
    assert env.stop(host) == 0, env.log(host)
    return env.log(host)


def check_counts(bootstrap, inputs, total):
    inputs = {k: n for k, (_, n) in inputs.items()}
    assert sum(inputs.values()) == total, (inputs, total)
    seen = {}
    for r in h.read_all(bootstrap, h.partitions("click-counts", PARTITIONS)):
        out = json.loads(r.value)
        assert r.key.decode() == out["key"], (r.key, out)
        seen.setdefault(out["key"], []).append(out["count"])
    for key, n in inputs.items():
        counts = seen.get(key, [])
        assert set(counts) == set(range(1, n + 1)), (key, n, sorted(set(counts))[-5:], max(counts))
    return sum(len(c) for c in seen.values()) - total


def main():
    seed = int(os.environ.get("STREAMS_TEST_SEED", random.randrange(1 << 30)))
    print(f"STREAMS_TEST_SEED={seed}", flush=True)  # to replay the kill moments
    rng = random.Random(seed)
    with h.Env() as env:
        bootstrap = env.start_broker([f"clicks:{PARTITIONS}", f"click-counts:{PARTITIONS}",
                                      f"counts-count-changelog:{PARTITIONS}",
                                      f"counts-tally-changelog:{PARTITIONS}"])
        pipeline = env.write("p.yaml", PIPELINE)
        config = env.write("d.yaml", h.deployment(sink="out", source_extra="commit_interval_ms: 200"))
        producer = h.SteadyProducer(bootstrap, "clicks", keys=KEYS)
        producer.start()
        try:
            for i in range(KILLS):
                host = env.start_host(pipeline, config, bootstrap, name=f"host{i}")
                target = output_count(bootstrap) + rng.randrange(50, 600)
                h.wait_for(lambda: output_count(bootstrap) >= target or host.poll() is not None,
                           90, f"host{i} to make progress")
                assert host.poll() is None, env.log(host)
                os.killpg(host.pid, signal.SIGKILL)
                host.wait()
            # A clean stop checkpoints what it commits; the next start goes on.
            host = env.start_host(pipeline, config, bootstrap, name="clean")
            target = output_count(bootstrap) + 200
            h.wait_for(lambda: output_count(bootstrap) >= target, 90, "the host to make progress")
            assert env.stop(host) == 0, env.log(host)
            producer.done.set()
            producer.join(timeout=120)
            # The inputs are all written: read them once for every check below.
            inputs = inputs_per_key(bootstrap)
            host = env.start_host(pipeline, config, bootstrap, name="final",
                                  extra=["--admin-port", "0"])
            try:
                h.wait_committed_to_end(bootstrap, "pipeline-in",
                                        h.partitions("clicks", PARTITIONS), timeout=120)
            except AssertionError as e:
                raise AssertionError(f"{e}\n--- the final host's log:\n{env.log(host)}") from e
            # A rebalance may still move a partition (a killed host's member
            # expiring): read once every partition is answered again.
            port = h.admin_port(env, host)
            h.wait_for(lambda: all(ready(port, p) for p in range(PARTITIONS)), 60,
                       "the final host's partitions to be assigned and resolved")
            check_state(port, inputs)
            assert env.stop(host) == 0, env.log(host)
            # Restarted with no new input, the host answers from its stores
            # (resolved at the committed offsets).
            log = answers(env, pipeline, config, bootstrap, "idle", inputs)
            assert "opened with its rocksdb store's checkpoint" in log, log
            # Stopped, its stores answer the same from disk.
            check_stored_state(env, pipeline, config, bootstrap, inputs)
            # Its stores deleted or corrupt while it is stopped, the host
            # restores them from the changelog: the same counts, key by key.
            stores = env.path("state/stores/counts")
            for p in range(1, PARTITIONS):
                shutil.rmtree(os.path.join(stores, f"partition-{p}"))
                shutil.rmtree(os.path.join(stores, f"pending-{p}"), ignore_errors=True)
            with open(os.path.join(stores, "partition-0", "CURRENT"), "w") as f:
                f.write("MANIFEST-999999\n")
            log = answers(env, pipeline, config, bootstrap, "restored", inputs)
            assert "from the changelog" in log, log
            assert f"{stores}/partition-0 cannot be opened" in log, log
            assert "set aside as" in log, log
            # A pipeline that would drop the step's state does not start...
            renamed = env.write("renamed.yaml",
                                PIPELINE.replace("map, name: count,", "map, name: tally,"))
            host = env.start_host(renamed, config, bootstrap, name="renamed")
            h.wait_for(lambda: host.poll() is not None, 60, "the renamed pipeline to be refused")
            assert host.returncode == 2, env.log(host)
            assert "holds the state of step(s) 'count' that the pipeline no longer keeps" in \
                env.log(host), env.log(host)
            # ...unless allowed.
            host = env.start_host(renamed, config, bootstrap, name="allowed",
                                  extra=["--allow-dropped-state"])
            h.wait_for(lambda: "(--allow-dropped-state: started anyway)" in env.log(host), 60,
                       "the host to start with --allow-dropped-state")
            assert env.stop(host) == 0, env.log(host)
        finally:
            producer.done.set()
        duplicates = check_counts(bootstrap, inputs, producer.sent)
        print(f"ok: {KILLS} kills, {producer.sent} inputs, {duplicates} replayed output(s), "
              "counts exact")


if __name__ == "__main__":
    main()
