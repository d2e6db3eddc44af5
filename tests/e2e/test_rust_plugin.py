"""The Rust example plugin (plugins/rust_example, built with the Rust SDK) on
the dev broker: the simple_map_filter pipeline with its functions gives
byte for byte the output of the same pipeline with the C++ plugin, from the
same inputs (keys, headers, malformed records included), and a record that
makes it panic goes to the DLQ with the panic's message while the rest
pass. Then, under a steady stream, the pipeline file is switched from the
C++ plugin to the Rust one and back: two hot reloads, no rebalance, every
counter output exactly once. kafka-python reads both. The same functions
writing through the example's Rust sink (lines, a file) write the same
values, each input committed once its batch is."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """name: simple_map_filter
source: {name: myinput, stream_name: ingest-metrics}
steps:
  - {kind: filter, name: filter, plugin: %(plugin)s, function: is_counter}
  - {kind: map, name: transform, plugin: %(plugin)s, function: transform}
  - {kind: sink, name: mysink, stream_name: %(out)s}
"""

DEPLOYMENT = """pipeline:
  segments:
    - steps_config:
        myinput:
          bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]
          consumer_group: %(group)s
          auto_offset_reset: earliest
          override_params: {session.timeout.ms: "6000"}
          dlq: {topic: %(dlq)s}
        mysink: {bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]}
"""


def inputs():
    """The example's input file, keyed and with headers, and some more."""
    with open(os.path.join(h.EXAMPLE_DIR, "input.jsonl"), "rb") as f:
        lines = [line.rstrip(b"\n") for line in f if line.strip()]
    records = [(b"k%d" % i, line, [("n", b"%d" % i)]) for i, line in enumerate(lines)]
    records += [
        (b"flag", b'{"org_id": 1, "project_id": 2, "name": "n", "tags": {"a": [1, 2]}, '
                  b'"timestamp": 3, "type": "c", "retention_days": 4, "value": 5, '
                  b'"transformed": false}', []),
        (None, b'{"org_id": 1, "project_id": 2, "name": "x", "tags": {}, "timestamp": 3, '
               b'"type": "c", "retention_days": 4, "value": 1.5e3}', [("empty", b"")]),
        (b"bad", b'{"org_id": 420, "type": "c", "name": ', []),
        (b"list", b"[1, 2]", []),
    ]
    return records


def run(env, bootstrap, plugin, count):
    out, dlq, group = f"out-{plugin}", f"dlq-{plugin}", f"group-{plugin}"
    pipeline = env.write(f"{plugin}.yaml", PIPELINE % {"plugin": plugin, "out": out})
    deployment = env.write(f"{plugin}-d.yaml", DEPLOYMENT % {"group": group, "dlq": dlq})
    host = env.start_host(pipeline, deployment, bootstrap, name=f"host-{plugin}")
    h.wait_committed_to_end(bootstrap, group, h.partitions("ingest-metrics", 2))
    assert env.stop(host) == 0, env.log(host)
    outputs = h.read_all(bootstrap, h.partitions(out, 2))
    failed = h.read_all(bootstrap, h.partitions(dlq, 1))
    return outputs, failed, env.log(host)


SINK_PIPELINE = """name: simple_map_filter
source: {name: myinput, stream_name: ingest-metrics}
steps:
  - {kind: filter, name: filter, plugin: rust_example, function: is_counter}
  - {kind: map, name: transform, plugin: rust_example, function: transform}
  - kind: sink
    name: mysink
    plugin: rust_example
    function: lines
    batch_size: 2
    config: {path: "%(path)s"}
"""


def rust_sink(env, bootstrap, expected):
    """The pipeline into the Rust sink: the file holds `expected` values
    (each once: nothing was replayed), every input committed."""
    path = env.path("lines.txt")
    pipeline = env.write("sink.yaml", SINK_PIPELINE % {"path": path})
    deployment = env.write("sink-d.yaml", DEPLOYMENT % {"group": "group-sink", "dlq": "dlq-sink"})
    host = env.start_host(pipeline, deployment, bootstrap, name="host-sink")
    h.wait_committed_to_end(bootstrap, "group-sink", h.partitions("ingest-metrics", 2))
    assert env.stop(host) == 0, env.log(host)
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    assert lines.pop() == b"", lines  # every line ends
    assert sorted(lines) == sorted(expected), (lines, expected)


def shape(records):
    return sorted((r.key or b"", r.value, tuple(r.headers)) for r in records)


def metric(n):
    """IngestMetric number n: a counter when n is even."""
    return json.dumps({"org_id": 1, "project_id": 2, "name": f"m{n}", "tags": {},
                       "timestamp": 1846062300 + n, "type": "cd"[n % 2],
                       "retention_days": 30, "value": [n]}).encode()


def reload_under_load(env, bootstrap):
    tps = h.partitions("rl-in", 4)
    path = env.write("reload.yaml", (PIPELINE % {"plugin": "ingest_metrics", "out": "rl-out"})
                     .replace("ingest-metrics", "rl-in"))
    deployment = env.write("reload-d.yaml", DEPLOYMENT % {"group": "rl", "dlq": "rl-dlq"})
    host = env.start_host(path, deployment, bootstrap, name="host-reload",
                          extra=["--admin-port", "0"])
    port = h.admin_port(env, host)
    producer = h.SteadyProducer(bootstrap, "rl-in", keys=4, value=metric)
    producer.start()
    outputs = lambda: sum(h.end_offsets(bootstrap, h.partitions("rl-out", 2)).values())
    try:
        h.wait_for(lambda: outputs() >= 100, 60, "the first outputs")
        for generation, plugin in ((2, "rust_example"), (3, "ingest_metrics")):
            with open(path) as f:
                text = f.read()
            old = "ingest_metrics" if plugin == "rust_example" else "rust_example"
            with open(path + ".tmp", "w") as f:
                f.write(text.replace(old, plugin))
            os.replace(path + ".tmp", path)
            status = h.wait_generation(port, generation)
            assert status["last_reload"]["outcome"] == "applied", status["last_reload"]
            assert status["steps"][0]["plugin"] == plugin, status["steps"]
            target = outputs() + 100
            h.wait_for(lambda: outputs() >= target, 60, f"outputs with {plugin}")
        total = producer.finish()
        h.wait_committed_to_end(bootstrap, "rl", tps, timeout=120)
        assert env.stop(host) == 0, env.log(host)
    finally:
        producer.done.set()
    log = env.log(host)
    assert log.count(" assigned rl-in[") == 1, log  # no rebalance, no restart
    seen = {}
    for r in h.read_all(bootstrap, h.partitions("rl-out", 2)):
        out = json.loads(r.value)
        n = out["value"][0]
        assert n not in seen, f"{n} output twice"
        seen[n] = r.value
        assert r.value == metric(n)[:-1] + b',"transformed":true}', r.value
    assert sorted(seen) == list(range(0, total, 2)), (len(seen), total)
    assert h.read_all(bootstrap, h.partitions("rl-dlq", 1)) == []
    return total


def main():
    records = inputs()
    with h.Env() as env:
        bootstrap = env.start_broker(["ingest-metrics:2", "out-ingest_metrics:2",
                                      "out-rust_example:2", "dlq-ingest_metrics:1",
                                      "dlq-rust_example:1", "rl-in:4", "rl-out:2", "rl-dlq:1",
                                      "dlq-sink:1"])
        h.produce(bootstrap, "ingest-metrics", records)
        cpp, cpp_failed, _ = run(env, bootstrap, "ingest_metrics", len(records))
        rust, rust_failed, log = run(env, bootstrap, "rust_example", len(records))
        assert len(cpp) >= 3, [r.value for r in cpp]
        assert shape(rust) == shape(cpp), (shape(rust), shape(cpp))
        assert sorted((r.key, r.value) for r in rust_failed) == sorted((r.key, r.value) for r in cpp_failed)
        messages = sorted(dict(r.headers)["streams.error.message"] for r in rust_failed)
        assert messages == sorted(dict(r.headers)["streams.error.message"] for r in cpp_failed), messages
        assert any(b"not valid JSON" in m for m in messages), messages
        assert "rust_example 1.0.0" in log, log
        rust_sink(env, bootstrap, [r.value for r in rust])

        # A panic fails its record alone: to the DLQ with the panic's message.
        h.produce(bootstrap, "ingest-metrics", [(b"p", b"panic", [])] + records[:2])
        _, failed, log = run(env, bootstrap, "rust_example", 3)
        panicked = [r for r in failed if r.key == b"p"]
        assert len(panicked) == 1, [(r.key, r.headers) for r in failed]
        hdrs = {k: v.decode() for k, v in panicked[0].headers}
        assert hdrs["streams.error.kind"] == "exception", hdrs
        assert hdrs["streams.error.step"] == "filter", hdrs
        assert hdrs["streams.error.plugin"] == "rust_example", hdrs
        assert hdrs["streams.error.message"].endswith("panic: the record asked for a panic"), hdrs
        outputs = h.read_all(bootstrap, h.partitions("out-rust_example", 2))
        assert len(outputs) == len(rust) + sum(1 for _, v, _ in records[:2] if b'"type": "c"' in v)

        total = reload_under_load(env, bootstrap)
    print(f"1 passed, 0 failed ({total} records through two reloads)")


if __name__ == "__main__":
    main()
