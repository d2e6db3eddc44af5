"""Two hosts in one consumer group (cooperative-sticky), a steady numbered
stream, and one host stopped mid-stream: the other takes its partitions, the
output is complete, and the stopped host committed only for partitions it
owned at the time (never after their revocation)."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: two-in}
steps:
  - {kind: map, name: up, plugin: testkit, function: upper}
  - {kind: sink, name: out, stream_name: two-out}
"""
PARTITIONS = 4


def output_count(bootstrap):
    return sum(h.end_offsets(bootstrap, h.partitions("two-out", PARTITIONS)).values())


def grow(bootstrap, by, what):
    target = output_count(bootstrap) + by
    h.wait_progress(lambda: output_count(bootstrap), target, 90, what)


def partitions_named(text):
    """The partitions of two-in a log line names: "two-in[0-2, 5@17]"."""
    parts = set()
    for listed in re.findall(r"two-in\[([^\]]*)\]", text):
        for item in listed.split(", "):
            first, _, last = item.split("@")[0].partition("-")
            parts |= set(range(int(first), int(last or first) + 1))
    return parts


def owned_partitions(log):
    """Replays a host's assign/revoke/commit lines; returns every partition
    it ever owned. Fails on a commit for a partition it did not own."""
    owned, ever = set(), set()
    for line in log.splitlines():
        m = re.search(r" (assigned|revoked|lost|commit) (.*)$", line)
        if not m:
            continue
        parts = partitions_named(m.group(2))
        if m.group(1) == "assigned":
            owned |= parts
            ever |= parts
        elif m.group(1) == "commit":
            assert parts <= owned, f"commit for {parts - owned} not owned: {line}"
        else:
            owned -= parts
    return ever


def two_hosts(env, bootstrap, override_params):
    """Starts host a, then host b once a has output (the numbered stream is
    already flowing); returns both once b owns partitions and both output.
    `override_params`: librdkafka settings added to the source's."""
    pipeline = env.write("p.yaml", PIPELINE)
    config = env.write("d.yaml", h.deployment(source_extra="commit_interval_ms: 200",
                                              params=override_params))

    def start(name):
        return env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                              name=name, extra=["--log-level", "debug"])
    a = start("a")
    grow(bootstrap, 200, "host a's output")
    b = start("b")
    h.wait_for(lambda: " assigned two-in[" in env.log(b), 90, "host b's partitions")
    grow(bootstrap, 200, "output from both hosts")
    return a, b


def main():
    with h.Env() as env:
        bootstrap = env.start_broker([f"two-in:{PARTITIONS}", f"two-out:{PARTITIONS}"])
        producer = h.SteadyProducer(bootstrap, "two-in")
        producer.start()
        try:
            a, b = two_hosts(env, bootstrap, "partition.assignment.strategy: cooperative-sticky")
            assert env.stop(a) == 0, env.log(a)
            grow(bootstrap, 400, "host b's output after a stopped")
            total = producer.finish()
            h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("two-in", PARTITIONS),
                                    timeout=120)
            assert env.stop(b) == 0, env.log(b)
        finally:
            producer.done.set()

        values = {r.value for r in h.read_all(bootstrap, h.partitions("two-out", PARTITIONS))}
        missing = [n for n in range(total) if b"N%d" % n not in values]
        assert not missing, missing[:10]
        a_owned = owned_partitions(env.log(a))
        b_owned = owned_partitions(env.log(b))
        assert a_owned and len(b_owned) == PARTITIONS, (a_owned, b_owned)
        assert "revoked two-in[" in env.log(a), env.log(a)
        # Commits refused while the group rebalances are expected: an INFO
        # line a rebalance, not a WARN a partition and a retry.
        for host in (a, b):
            noisy = [line for line in env.log(host).splitlines()
                     if " WARN " in line and "rebalance in progress" in line]
            assert not noisy, noisy[:3]
    print(f"ok: {total} numbers; host a owned {sorted(a_owned)}")


if __name__ == "__main__":
    main()
