"""simple_map_filter end to end: dev broker, host, and kafka-python as the
independent client. Checks the output, at-least-once commits on SIGTERM, and
that a restarted host emits only what was produced after the restart."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

GROUP = "pipeline-myinput"
ORIGINAL = (b'{"org_id": 420, "project_id": 420, "name": "s:sessions/user@none", '
            b'"tags": {"sdk": "raven-node/2.6.3", "environment": "production", '
            b'"release": "sentry-test@1.0.0"}, "timestamp": 1846062325, "type": "c", '
            b'"retention_days": 90, "value": [1617781333]}')


def metric(kind, n):
    return json.dumps({"org_id": 1, "project_id": 2, "name": f"m{n}", "tags": {},
                       "timestamp": 1846062300 + n, "type": kind,
                       "retention_days": 30, "value": [n]}).encode()


def check_transformed(out_value, in_value):
    out, original = json.loads(out_value), json.loads(in_value)
    assert out.pop("transformed") is True, out_value
    assert out == original, (out, original)


def main():
    inputs = h.partitions("ingest-metrics", 4)
    outputs = h.partitions("transformed-events", 4)
    with h.Env() as env:
        bootstrap = env.start_broker(["ingest-metrics:4", "transformed-events:4"])
        pipeline = os.path.join(h.EXAMPLE_DIR, "pipeline.yaml")
        config = os.path.join(h.EXAMPLE_DIR, "deployment.yaml")
        host = env.start_host(pipeline, config, bootstrap)

        first = [
            (b"k-c", ORIGINAL, [("trace", b"t-1"), ("empty", b"")]),
            (b"k-s", metric("s", 1), []),
            (b"k-d", metric("d", 2), []),
            (b"k-bad", b'{"org_id": 420, "type": "c", "name": ', []),
            (None, metric("s", 3), []),
        ]
        h.produce(bootstrap, "ingest-metrics", first)
        h.wait_committed_to_end(bootstrap, GROUP, inputs)
        records = h.read_all(bootstrap, outputs)
        assert len(records) == 1, [r.value for r in records]
        out = records[0]
        check_transformed(out.value, ORIGINAL)
        assert out.key == b"k-c", out.key
        assert out.headers == [("trace", b"t-1"), ("empty", b"")], out.headers
        assert "invalid_input: not valid JSON" in env.log(host), env.log(host)

        assert env.stop(host) == 0, env.log(host)
        assert h.committed_offsets(bootstrap, GROUP, inputs) == h.end_offsets(bootstrap, inputs)

        # A restarted host continues from the commits: only new messages appear.
        host = env.start_host(pipeline, config, bootstrap, name="host2")
        second = [(b"k2-%d" % n, metric("c", 10 + n), []) for n in range(3)]
        h.produce(bootstrap, "ingest-metrics", second + [(b"x", metric("d", 20), [])])
        h.wait_committed_to_end(bootstrap, GROUP, inputs)
        records = h.read_all(bootstrap, outputs)
        assert len(records) == 1 + len(second), [r.value for r in records]
        new = sorted((r for r in records if r.key != b"k-c"), key=lambda r: r.key)
        for rec, (key, value, _) in zip(new, second):
            assert rec.key == key
            check_transformed(rec.value, value)
        assert env.stop(host) == 0, env.log(host)
        assert h.committed_offsets(bootstrap, GROUP, inputs) == h.end_offsets(bootstrap, inputs)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
