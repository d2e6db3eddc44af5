"""Pipeline files in the original's Python DSL.

configs/simple_map_filter/pipeline.py (Python transforms, imported from the
file's directory) runs on the dev broker with kcat-produced input and gives
the YAML example's output (the same JSON values, keys in the same order);
the bad JSON record is in the DLQ from the parser with the text Python's
json.loads gives, the record that is not an
IngestMetric with the Python error text. Errors in a pipeline file name the
file and the line of the step; `graph` and the local runtime read it. A file
written for the original runs as it is: its `sentry_kafka_schemas` imports
(stand-ins unless the package is there) and its helpers imported as
`sentry_streams.examples.NAME` from beside it. Datetimes in what a map
returns are written by a Serializer as the original's are: isoformat(), or
strftime(dt_format). A DevNullSink's batch and sleep times, from the file or
its deployment's steps_config (the original's devnull_benchmark), simulate a
store of that latency."""
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
        # a function that cannot take the message: named as written, not as
        # the host registered it
        "arity.py": (header + "def bad():\n    return b'x'\n"
                     "pipeline = (streaming_source('in', stream_name='t')\n"
                     "    .apply(Map('m', function=bad))\n"
                     "    .sink(StreamSink('out', stream_name='o')))\n",
                     "arity.py:5: steps[0].python: step 'm': the function bad cannot take the "
                     "message, its one argument: too many positional arguments"),
        "nopipe.py": (header + "p = streaming_source('in', stream_name='t')\n",
                      "nopipe.py: it defines no global `pipeline`"),
        "raises.py": (header + "\nraise RuntimeError('no config here')\n",
                      "RuntimeError: no config here"),
        # the original's Parquet serializer, its column types imported as there
        "parquet.py": ("from sentry_streams.pipeline import ParquetSerializer, StreamSink, "
                       "streaming_source\n"
                       "from sentry_streams.pipeline.datatypes import Int64, List\n"
                       "pipeline = (streaming_source('in', stream_name='t')\n"
                       "    .apply(ParquetSerializer('pq', {'v': List(Int64())}))\n"
                       "    .sink(StreamSink('out', stream_name='o')))\n",
                       "parquet.py: ValueError: step 'pq' (line 4): ParquetSerializer is not "
                       "supported by this host: it writes no Parquet"),
    }
    for name, (text, expected) in cases.items():
        result = run(["run", "--runtime", "local", env.write(name, text)])
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        assert expected in result.stderr, (name, expected, result.stderr)
        assert "describe.py" not in result.stderr, result.stderr  # no frames of the host's
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


# In the original's words, as its examples are written.
ORIGINAL_STYLE = """from sentry_kafka_schemas.schema_types.ingest_metrics_v1 import IngestMetric

from sentry_streams.examples.metric_helpers import keep_counters, mark
from sentry_streams.pipeline.pipeline import (Map, Parser, PredicateFilter, Serializer,
                                              StreamSink, streaming_source)

pipeline = streaming_source(name="myinput", stream_name="ingest-metrics")
(
    pipeline.apply(Parser[IngestMetric]("parser"))
    .apply(PredicateFilter("filter", function=keep_counters))
    .apply(Map("transform", function=mark))
    .apply(Serializer("serializer"))
    .sink(StreamSink("mysink", stream_name="transformed-events"))
)
"""
ORIGINAL_HELPERS = """from typing import Any, Mapping

from sentry_kafka_schemas.schema_types.ingest_metrics_v1 import IngestMetric

from sentry_streams.pipeline.message import Message

assert issubclass(IngestMetric, dict) and IngestMetric.__name__ == "IngestMetric"


def keep_counters(msg: Message[IngestMetric]) -> bool:
    return bool(msg.payload["type"] == "c")


def mark(msg: Message[IngestMetric]) -> Mapping[str, Any]:
    return {**msg.payload, "transformed": True, "by": __name__}
"""


def written_for_the_original(env):
    env.write("orig/pipeline.py", ORIGINAL_STYLE)
    env.write("orig/metric_helpers.py", ORIGINAL_HELPERS)
    input_lines = [json.dumps({"type": t, "value": v}) for t, v in (("c", 1), ("s", 2), ("c", 3))]
    result = run(["run", "--runtime", "local", "--input", env.write("in.jsonl", "\n".join(
        input_lines) + "\n"), env.path("orig/pipeline.py")])
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"type": "c", "value": v, "transformed": True, "by": "sentry_streams.examples.metric_helpers"}
        for v in (1, 3)], result.stdout
    # What is not a schema type is not stood in for, and says why.
    env.write("codec.py", "from sentry_kafka_schemas import get_codec\n" + ORIGINAL_STYLE)
    result = run(["graph", env.path("codec.py")])
    assert result.returncode == 2, result
    assert "cannot import name 'get_codec' from 'sentry_kafka_schemas' (the streams host's " \
           "stand-in for schema types only: sentry_kafka_schemas is not installed)" \
        in result.stderr, result.stderr
    # A real package on the path comes first.
    env.write("real/sentry_kafka_schemas/__init__.py", "")
    env.write("real/sentry_kafka_schemas/schema_types/__init__.py", "")
    env.write("real/sentry_kafka_schemas/schema_types/ingest_metrics_v1.py",
              "raise ImportError('the real package was imported')\n")
    env.write("real/pipeline.py", ORIGINAL_STYLE)
    env.write("real/metric_helpers.py", ORIGINAL_HELPERS)
    result = run(["graph", env.path("real/pipeline.py")])
    assert result.returncode == 2 and "the real package was imported" in result.stderr, result


DATES = """from datetime import date, datetime

from sentry_streams.pipeline import Map, Serializer, StreamSink, streaming_source


def stamp(msg):
    return {"at": datetime(2026, 1, 2, 3, 4, 5), "day": date(2026, 1, 2), "n": 1}


pipeline = (
    streaming_source(name="in", stream_name="t")
    .apply(Map("stamp", function=stamp))
    .apply(Serializer("ser"%s))
    .sink(StreamSink("out", stream_name="o"))
)
"""


def local_run(env, name, text):
    """Runs pipeline file `text` locally on one input: the result."""
    path = env.write(name, text)
    return subprocess.run([h.HOST, "run", "--runtime", "local", "--input", "-", path],
                          input="x\n", capture_output=True, text=True, timeout=60)


def datetimes(env):
    """A map's datetimes through a Serializer: isoformat() by default (dates
    too), and strftime(dt_format) when given, which, as the original's, takes
    datetimes only."""
    result = local_run(env, "dates.py", DATES % "")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        '{"at": "2026-01-02T03:04:05", "day": "2026-01-02", "n": 1}'], result.stdout
    formatted = DATES % ', dt_format="%Y/%m/%d %H:%M"'
    result = local_run(env, "dates_fmt.py", formatted.replace(', "day": date(2026, 1, 2)', ""))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ['{"at": "2026/01/02 03:04", "n": 1}'], result.stdout
    result = local_run(env, "dates_fmt_date.py", formatted)
    assert result.returncode != 0, result
    assert "Object of type date is not JSON serializable" in result.stderr, result.stderr


BATCHED = """from datetime import timedelta

from sentry_streams.pipeline import Batch, Parser, Serializer, StreamSink, streaming_source

pipeline = (
    streaming_source(name="in", stream_name="t")
    .apply(Parser("parse"))
    .apply(Batch("pairs", batch_size=2, batch_timedelta=timedelta(seconds=100)))
    .apply(Serializer("ser"%s))
    .sink(StreamSink("out", stream_name="o"))
)
"""


def batch_then_serializer(env):
    """Parser, Batch, Serializer (the original's simple_batching example):
    a JSON array of the payloads, as the original's Serializer writes the
    batch's list; it failed every batch (a msgpack batch is not JSON)."""
    for name, extra in (("batched.py", ""), ("batched_fmt.py", ', dt_format="%Y"')):
        path = env.write(name, BATCHED % extra)
        result = subprocess.run([h.HOST, "run", "--runtime", "local", "--input", "-", path],
                                input='{"a": 1}\n{"a": 2}\n{"a": 3}\n', capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert [json.loads(line) for line in result.stdout.splitlines()] == [
            [{"a": 1}, {"a": 2}], [{"a": 3}]], result.stdout
    # The original's override in the deployment (its simple_batching.yaml):
    # steps_config.pairs.batch_size.
    config = env.write("batched-d.yaml", "pipeline:\n  segments:\n    - steps_config:\n"
                                         "        pairs: {batch_size: 3, batch_timedelta: "
                                         "{seconds: 20}}\n")
    result = subprocess.run([h.HOST, "run", "--runtime", "local", "--config", config, "--input",
                             "-", env.path("batched.py")], input='{"a": 1}\n{"a": 2}\n{"a": 3}\n',
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        [{"a": 1}, {"a": 2}, {"a": 3}]], result.stdout
    graph = subprocess.run([h.HOST, "graph", "--config", config, env.path("batched.py")],
                           capture_output=True, text=True, timeout=60)
    assert "batch json 3 records 20000 ms" in graph.stdout, graph


# The original's devnull_benchmark example and its deployment file.
DEVNULL = """from sentry_streams.pipeline.pipeline import DevNullSink, streaming_source

pipeline = streaming_source(name="benchmark_source", stream_name="ingest-metrics")
pipeline.sink(DevNullSink(name="devnull", batch_size=500, batch_time_ms=5000.0%s))
"""
DEVNULL_DEPLOYMENT = """env: {}

pipeline:
  segments:
    - steps_config:
        benchmark_source:
          starts_segment: True
          bootstrap_servers: ["127.0.0.1:9092"]
          auto_offset_reset: "latest"
        devnull:
          average_sleep_time_ms: 5000.0
          max_sleep_time_ms: 6000.0
"""


def devnull_sleeps(env):
    path = env.write("devnull.py", DEVNULL % ", average_sleep_time_ms=500.0, "
                                             "max_sleep_time_ms=6000.0")
    result = run(["graph", path])
    assert "devnull, writes of 500 records or 5000 ms taking ~500 ms (at most 6000)" in (
        result.stdout), result
    result = run(["graph", "--config", env.write("devnull.yaml", DEVNULL_DEPLOYMENT), path])
    assert result.returncode == 0, result.stderr
    assert "devnull, writes of 500 records or 5000 ms taking ~5000 ms (at most 6000)" in (
        result.stdout), result
    assert "warning" not in result.stderr, result.stderr
    # The original's rule: a sleep needs its longest.
    result = run(["graph", env.write("half.py", DEVNULL % ", average_sleep_time_ms=5.0")])
    assert result.returncode == 2, result
    assert "half.py" in result.stderr and "max_sleep_time_ms must be set" in result.stderr, (
        result.stderr)


def main():
    with h.Env() as env:
        on_broker(env)
        errors_name_file_and_line(env)
        graph_and_local(env)
        written_for_the_original(env)
        datetimes(env)
        batch_then_serializer(env)
        devnull_sleeps(env)
    print("ok")


if __name__ == "__main__":
    main()
