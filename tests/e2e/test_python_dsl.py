"""Pipeline files in the original's Python DSL.

configs/simple_map_filter/pipeline.py (Python transforms, imported from the
file's directory) runs on the dev broker with kcat-produced input and gives
the YAML example's output (the same JSON values, keys in the same order);
the bad JSON record is in the DLQ from the parser with the text Python's
json.loads gives, the record that is not an
IngestMetric with the Python error text. Errors in a pipeline file name the
file and the line of the step; `graph` and the local runtime read it."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = os.path.join(h.EXAMPLE_DIR, "pipeline.py")


def ordered(line):
    return json.loads(line, object_pairs_hook=lambda pairs: pairs)


def on_broker(env):
    bootstrap = env.start_broker(["ingest-metrics:1", "transformed-events:1", "dsl-dlq:1"])
    deployment = h.deployment(source="myinput", sink="mysink",
                              source_extra="dlq: {topic: dsl-dlq}")
    host = env.start_host(PIPELINE, env.write("d.yaml", deployment), bootstrap,
                          extra=["-n", "dsl"])
    with open(os.path.join(h.EXAMPLE_DIR, "input.jsonl"), "rb") as f:
        lines = [line.rstrip(b"\n") for line in f if line.strip()]
    h.produce_kcat(bootstrap, "ingest-metrics", [(b"k", line) for line in lines])
    h.wait_committed_to_end(bootstrap, "pipeline-myinput", h.partitions("ingest-metrics", 1))
    assert env.stop(host) == 0, env.log(host)
    log = env.log(host)
    assert "no JSON Schema for stream 'ingest-metrics'" in log, log

    with open(os.path.join(h.EXAMPLE_DIR, "expected_output.jsonl")) as f:
        expected = [ordered(line) for line in f if line.strip()]
    out = h.read_all(bootstrap, h.partitions("transformed-events", 1))
    assert [ordered(r.value) for r in out] == expected, [r.value for r in out]
    dlq = {dict(r.headers)["streams.error.step"]: dict(r.headers)
           for r in h.read_all(bootstrap, h.partitions("dsl-dlq", 1))}
    assert set(dlq) == {b"parser", b"filter"}, dlq
    assert dlq[b"parser"]["streams.error.kind"] == b"invalid_input"
    # Python's words, as json.loads raises them, not the host's parser's.
    assert dlq[b"parser"]["streams.error.message"].startswith(
        b"JSONDecodeError: Unterminated string starting at: line 1 column "), dlq[b"parser"]
    assert dlq[b"filter"]["streams.error.message"] == (
        b"ValueError: not an IngestMetric: no project_id, name, timestamp, tags, "
        b"retention_days, value"), dlq[b"filter"]
    assert b"transform_metrics.py" in dlq[b"filter"]["streams.error.traceback"]


def run(args, cwd=None):
    return subprocess.run([h.HOST, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def errors_name_file_and_line(env):
    header = "from streams.pipeline import Map, StreamSink, streaming_source\n"
    cases = {
        # a step name used twice: the second one's line
        "dup.py": (header + "pipeline = (streaming_source('in', stream_name='t')\n"
                   "    .apply(Map('m', function=lambda m: m.payload))\n"
                   "    .apply(Map('m', function=lambda m: m.payload))\n"
                   "    .sink(StreamSink('out', stream_name='o')))\n",
                   "dup.py:4: steps[1].name: duplicate step name 'm'"),
        "notfn.py": (header + "pipeline = (streaming_source('in', stream_name='t')\n"
                     "    .apply(Map('m', function=42))\n"
                     "    .sink(StreamSink('out', stream_name='o')))\n",
                     "step 'm' (line 3): function must be callable"),
        "nopipe.py": (header + "p = streaming_source('in', stream_name='t')\n",
                      "nopipe.py: it defines no global `pipeline`"),
        "raises.py": (header + "\nraise RuntimeError('no config here')\n",
                      "RuntimeError: no config here"),
    }
    for name, (text, expected) in cases.items():
        result = run(["run", "--runtime", "local", env.write(name, text)])
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        assert expected in result.stderr, (name, expected, result.stderr)
    result = run(["run", "--runtime", "local", env.path("raises.py")])
    assert 'raises.py", line 3, in <module>' in result.stderr, result.stderr


def graph_and_local(env):
    result = run(["graph", PIPELINE])
    assert result.returncode == 0, result.stderr
    assert "filter<br/>filter python" in result.stdout, result.stdout
    result = run(["run", "--runtime", "local", "--error-policy", "skip-and-count", "--input",
                  os.path.join(h.EXAMPLE_DIR, "input.jsonl"), PIPELINE])
    assert result.returncode == 0, result.stderr
    with open(os.path.join(h.EXAMPLE_DIR, "expected_output.jsonl")) as f:
        expected = [ordered(line) for line in f if line.strip()]
    assert [ordered(line) for line in result.stdout.splitlines()] == expected, result.stdout


def main():
    with h.Env() as env:
        on_broker(env)
        errors_name_file_and_line(env)
        graph_and_local(env)
    print("ok")


if __name__ == "__main__":
    main()
