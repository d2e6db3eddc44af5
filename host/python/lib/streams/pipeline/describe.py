"""Turns a DSL pipeline into the text of a YAML pipeline file, which the host
reads as it reads any pipeline file. Every line ends in ``#@ N``, the line of
the Python file that made what it describes, so errors name that line.

Functions are registered as attributes of ``<module>.__streams_callables__``
and named by that dotted path (a function given as a dotted string is used
as it is)."""
import functools
import glob
import json
import os
import types
from datetime import timedelta

from .builtins import serialize
from .pipeline import (Batch, BatchParser, Branch, Broadcast, DevNullSink, FlatMap, Filter, GCSSink,
                       HeadersFilter, Map, ParquetSerializer, Parser, Pipeline, Reducer, Router,
                       Serializer, Sink, StreamSink, StreamSource)
from .window import describe_window

# GCS's XML API, which takes S3's requests signed with an HMAC key.
GCS_ENDPOINT = "https://storage.googleapis.com"


class _Writer:
    def __init__(self, module, module_name, schemas_dir):
        self.lines = []
        self.warnings = []
        self.registry = types.SimpleNamespace()
        module.__streams_callables__ = self.registry
        self.module_name = module_name
        self.schemas_dir = schemas_dir
        self.count = 0

    def line(self, indent, text, at):
        self.lines.append("  " * indent + text + f"  #@ {at}")

    def ref(self, fn, step, what="function"):
        if isinstance(fn, str):
            return fn
        if not callable(fn):
            raise TypeError(f"step {step.name!r} (line {step.line}): {what} must be callable or "
                            f"a dotted name, got {fn!r}")
        key = f"c{self.count}"
        self.count += 1
        setattr(self.registry, key, fn)
        return f"{self.module_name}.__streams_callables__.{key}"

    def schema_for(self, stream, step):
        where, name = glob.escape(self.schemas_dir), glob.escape(stream)
        for pattern in (f"{name}.schema.json", f"{name}.v*.schema.json"):
            found = sorted(glob.glob(os.path.join(where, pattern)))
            if found:
                return os.path.abspath(found[-1])
        self.warnings.append(
            f"line {step.line}: parser {step.name!r}: no JSON Schema for stream {stream!r} in "
            f"{self.schemas_dir} ({stream}.schema.json or {stream}.v1.schema.json); it parses "
            "JSON without validating")
        return None


def _step(w, step, stream, previous, following):
    """The mapping of one non-branching step; `previous` and `following`: the
    steps before and after it in its chain, or None."""
    d = {"name": step.name}
    if isinstance(step, Map):
        d.update(kind="map", python=w.ref(step.function, step))
    elif isinstance(step, FlatMap):
        d.update(kind="flat_map", python=w.ref(step.function, step))
    elif isinstance(step, HeadersFilter):
        value = step.value.decode() if isinstance(step.value, bytes) else str(step.value)
        d.update(kind="header_filter", header=step.header_name, value=value)
    elif isinstance(step, Filter):
        d.update(kind="filter", python=w.ref(step.function, step))
    elif isinstance(step, BatchParser):
        d.update(kind="map", python="streams.pipeline.builtins.parse_batch")
    elif isinstance(step, Parser):
        d["kind"] = "parser"
        schema = w.schema_for(stream, step)
        if schema:
            d["schema"] = schema
    elif isinstance(step, Serializer) and step.dt_format and not isinstance(previous, Batch):
        # Its datetimes formatted: a Python step, which gets the object the
        # Python step before it made (the host's serializer gets JSON text).
        d.update(kind="map", python=w.ref(functools.partial(serialize,
                                                            dt_format=step.dt_format), step))
    elif isinstance(step, Serializer):
        # After a Batch too: its values crossed the host as JSON text, their
        # datetimes already written (isoformat), so dt_format has none left.
        d["kind"] = "serializer"
    elif isinstance(step, Batch):
        # msgpack: any bytes may be batched; Python steps after it get the
        # original's list of (payload, schema) tuples. Before a Serializer,
        # JSON: the original serializes the list of payloads, an array.
        d.update(kind="batch", format="json" if isinstance(following, Serializer) else "msgpack")
        if step.batch_size is not None:
            d["max_count"] = step.batch_size
        if step.batch_timedelta is not None:
            d["max_wait_ms"] = int(step.batch_timedelta.total_seconds() * 1000)
    elif isinstance(step, Reducer):
        window = describe_window(step.window)
        d.update(kind="reduce", python=w.ref(step.aggregate_func, step, "aggregate_func"),
                 window=window)
        if "size_ms" in window:
            # The original's time windows close by the wall clock; these close
            # by event time, or once no input came for a slide (or a size).
            d["idle_flush_ms"] = window.get("slide_ms", window["size_ms"])
        if step.group_by_key is not None:
            key = step.group_by_key
            getter = getattr(key, "get_group_by_key", None)
            if getter is None:
                raise TypeError(f"step {step.name!r} (line {step.line}): group_by_key must be "
                                f"a GroupBy, got {key!r}")
            d["group_by"] = {"python": w.ref(lambda msg: getter(msg.payload), step)}
    elif isinstance(step, StreamSink):
        d.update(kind="sink", stream_name=step.stream_name)
    elif isinstance(step, DevNullSink):
        d.update(kind="sink", type="devnull")
        for key in ("batch_size", "batch_time_ms", "average_sleep_time_ms", "max_sleep_time_ms"):
            if getattr(step, key) is not None:
                d[key] = getattr(step, key)
    elif isinstance(step, GCSSink):
        if not isinstance(step.bucket, str) or not step.bucket:
            raise TypeError(f"step {step.name!r} (line {step.line}): GCSSink's bucket must be a "
                            f"non-empty string, got {step.bucket!r}")
        if not isinstance(step.batch_timedelta, timedelta):
            raise TypeError(f"step {step.name!r} (line {step.line}): GCSSink's batch_timedelta "
                            f"must be a timedelta, got {step.batch_timedelta!r}")
        # The deployment's steps_config entry gives the HMAC key (access_key,
        # secret_key) and may name another endpoint.
        d.update(kind="sink", plugin="object_store_sink", function="s3",
                 batch_size=step.batch_size,
                 batch_time_ms=int(step.batch_timedelta.total_seconds() * 1000),
                 config={"endpoint": GCS_ENDPOINT, "region": "auto", "bucket": step.bucket})
        w.warnings.append(
            f"line {step.line}: sink {step.name!r}: GCSSink is written by object_store_sink "
            f"through GCS's XML API, with an HMAC key in the deployment "
            f"(steps_config.{step.name}.config: access_key, secret_key): an object a batch, "
            "named by the source offsets it holds ({topic}/{partition}/{first}-{last}.ndjson)"
            + (", not by object_generator" if step.object_generator is not None else ""))
    elif isinstance(step, ParquetSerializer):
        raise ValueError(f"step {step.name!r} (line {step.line}): ParquetSerializer is not "
                         "supported by this host: it writes no Parquet (Debian packages no "
                         "Parquet library); a Serializer writes JSON")
    elif isinstance(step, Sink):
        raise ValueError(f"step {step.name!r} (line {step.line}): {type(step).__name__} is not "
                         "supported by this host (StreamSink, DevNullSink and GCSSink are)")
    else:
        raise ValueError(f"step {step.name!r} (line {step.line}): {type(step).__name__} is not "
                         "supported by this host")
    return {"kind": d.pop("kind"), **d}


def _branches(w, routes, indent, stream):
    for name, pipe in routes:
        if not isinstance(pipe, Pipeline) or not isinstance(pipe.root, Branch):
            raise TypeError(f"branch {name!r}: expected a pipeline started by branch(), got "
                            f"{pipe!r}")
        w.line(indent, f"{json.dumps(name)}:", pipe.root.line)
        _steps(w, pipe, indent + 1, stream)


def _router(routing_function, names):
    def route(msg):
        return names[routing_function(msg)]
    return route


def _steps(w, pipe, indent, stream):
    if not pipe.steps:
        w.line(indent, "[]", pipe.root.line)
        return
    for i, step in enumerate(pipe.steps):
        if isinstance(step, (Router, Broadcast)):
            w.line(indent, f'- "kind": {json.dumps("route" if isinstance(step, Router) else "broadcast")}',
                   step.line)
            w.line(indent + 1, f'"name": {json.dumps(step.name)}', step.line)
            if isinstance(step, Router):
                names = {key: p.root.name for key, p in step.routing_table.items()}
                fn = w.ref(_router(step.routing_function, names), step)
                w.line(indent + 1, f'"python": {json.dumps(fn)}', step.line)
                routes = [(p.root.name, p) for p in step.routing_table.values()]
            else:
                routes = [(p.root.name, p) for p in step.routes]
            w.line(indent + 1, '"branches":', step.line)
            _branches(w, routes, indent + 2, stream)
        else:
            previous = pipe.steps[i - 1] if i > 0 else None
            following = pipe.steps[i + 1] if i + 1 < len(pipe.steps) else None
            w.line(indent, "- " + json.dumps(_step(w, step, stream, previous, following)),
                   step.line)


def describe(pipeline, module, module_name, schemas_dir):
    """(YAML text, [warning]) for `pipeline`, defined in `module`."""
    if not isinstance(pipeline, Pipeline):
        raise TypeError(f"the global `pipeline` must be a Pipeline (streaming_source(...)...), "
                        f"got {type(pipeline).__name__}")
    if not isinstance(pipeline.root, StreamSource):
        raise TypeError("the global `pipeline` must start with streaming_source(...)")
    w = _Writer(module, module_name, schemas_dir)
    source = pipeline.root
    w.line(0, "source: " + json.dumps({"name": source.name, "stream_name": source.stream_name}),
           source.line)
    w.line(0, "steps:", source.line)
    _steps(w, pipeline, 1, source.stream_name)
    return "\n".join(w.lines) + "\n", w.warnings
