"""Bad input never crashes the host: random bytes, null and empty values,
non-UTF-8 bytes, a near-1 MB value, odd headers (empty names, null and binary
values, many of them) and null keys go through the simple_map_filter example
with a DLQ. The host keeps running, commits every input, every invalid input
is in the DLQ with its original value, and every valid counter is output."""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

DEPLOYMENT = """pipeline:
  segments:
    - steps_config:
        myinput:
          bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]
          auto_offset_reset: earliest
          override_params: {session.timeout.ms: "6000"}
          dlq: {topic: fuzz-dlq}
        mysink: {bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]}
"""


def counter(n):
    return json.dumps({"org_id": 1, "project_id": 2, "name": f"m{n}", "tags": {"t": "v"},
                       "timestamp": 1846062300 + n, "type": "c", "retention_days": 30,
                       "value": [n]}).encode()


def odd_headers(rng):
    choices = [
        [],
        [("", b"")],
        [("h", b"\x00")],
        [("bin", bytes(rng.randrange(256) for _ in range(16)))],
        [(f"h{i}", b"v") for i in range(100)],
        [("\u00e9t\u00e9", b"\xff\xfe")],
    ]
    return rng.choice(choices)


def bad_values(rng):
    yield None
    yield b""
    yield b"\xff\xfe\xfd not utf-8"
    yield b"{" * 10000  # deep nesting
    yield b'{"type": "c"' + b" " * 900000 + b"}"  # near 1 MB, unterminated
    yield b'{"org_id": "x", "type": "c"}'  # valid JSON, not a metric
    yield b"\x00" * 64
    for _ in range(300):
        yield rng.randbytes(rng.randrange(0, 3000))
    for _ in range(100):  # mutations of a valid record
        value = bytearray(counter(rng.randrange(1000)))
        for _ in range(rng.randrange(1, 8)):
            value[rng.randrange(len(value))] = rng.randrange(256)
        yield bytes(value)


def is_valid_counter(value):
    try:
        return json.loads(value).get("type") == "c"
    except (ValueError, TypeError, AttributeError, RecursionError):
        return False


def main():
    seed = int(os.environ.get("STREAMS_TEST_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    # kafka-python needs a key or a value: null values get a key.
    records = [(rng.choice([None, b"k", rng.randbytes(8)]) if v is not None else b"k", v,
                odd_headers(rng)) for v in bad_values(rng)]
    records += [(b"ok", counter(n), []) for n in range(50)]
    rng.shuffle(records)
    with h.Env() as env:
        bootstrap = env.start_broker(["ingest-metrics:2", "transformed-events:2", "fuzz-dlq:2"])
        config = env.write("d.yaml", DEPLOYMENT)
        host = env.start_host(os.path.join(h.EXAMPLE_DIR, "pipeline.yaml"), config, bootstrap)
        h.produce(bootstrap, "ingest-metrics", records)
        inputs = h.partitions("ingest-metrics", 2)
        h.wait_committed_to_end(bootstrap, "pipeline-myinput", inputs, timeout=120)
        assert host.poll() is None, (seed, env.log(host))
        assert env.stop(host) == 0, (seed, env.log(host))

        read = h.read_all(bootstrap, inputs)
        assert len(read) == len(records), (len(read), len(records))
        outputs = h.read_all(bootstrap, h.partitions("transformed-events", 2))
        dead = h.read_all(bootstrap, h.partitions("fuzz-dlq", 2))
        valid = [r for r in read if r.value is not None and is_valid_counter(r.value)]
        # A mutation may still be a valid counter; the plugin is the judge of
        # the rest, so outputs and DLQ together account for every counter-or-bad input.
        dead_values = sorted((r.value or b"") for r in dead)
        assert len(outputs) >= 50, (seed, len(outputs))
        assert len(outputs) + len(dead) <= len(read), (seed, len(outputs), len(dead))
        for r in read:
            if r.value is None or not is_valid_json(r.value):
                assert (r.value or b"") in dead_values, (seed, (r.value or b"")[:60])
        assert len(valid) >= 50
    print(f"ok: {len(records)} records (seed {seed}), {len(dead)} in the DLQ")


def is_valid_json(value):
    try:
        json.loads(value)
        return True
    except (ValueError, RecursionError):
        return False


if __name__ == "__main__":
    main()
