"""The pipeline DSL of Sentry Streams, for pipeline files the streams host
runs. A pipeline file defines a global ``pipeline``:

    pipeline = (
        streaming_source("myinput", stream_name="ingest-metrics")
        .apply(Parser("parser"))
        .apply(PredicateFilter("filter", function=is_counter))
        .apply(Map("transform", function=transform))
        .apply(Serializer("serializer"))
        .sink(StreamSink("mysink", stream_name="transformed-events"))
    )

The host turns it into the same graph as a YAML pipeline file (see
describe.py); each step remembers the line of the file that made it, for
error messages. Functions are called by the host with a message.
"""
import os
import sys
from datetime import timedelta

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_OURS = (_HERE, os.path.join(os.path.dirname(_HERE), "sentry_streams"))


def _caller_line():
    """The line, in the first file outside this package, that is running."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_OURS):
        frame = frame.f_back
    return frame.f_lineno if frame is not None else 0


class Step:
    def __init__(self, name):
        if not isinstance(name, str) or not name:
            raise TypeError(f"a step's name must be a non-empty str, got {name!r}")
        self.name = name
        self.line = _caller_line()

    def __class_getitem__(cls, item):  # Parser[IngestMetric] and the like
        return cls

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"


class Source(Step):
    pass


class StreamSource(Source):
    def __init__(self, name, stream_name, header_filter=None, consumer_group=None,
                 dlq_stream_name=None):
        super().__init__(name)
        self.stream_name = stream_name
        self.header_filter = header_filter
        self.consumer_group = consumer_group


class Branch(Step):
    pass


class Transform(Step):
    pass


class _Function(Transform):
    def __init__(self, name, function):
        super().__init__(name)
        self.function = function


class Map(_Function):
    """``function(msg)`` returns the new payload."""


class Filter(_Function):
    """Keeps a message when ``function(msg)`` is truthy."""


class PredicateFilter(Filter):
    pass


class FlatMap(_Function):
    """``function(msg)`` returns an iterable of payloads."""


class HeadersFilter(Transform):
    """Keeps messages whose header ``header_name`` equals ``value``."""

    def __init__(self, name, header_name, value):
        super().__init__(name)
        self.header_name = header_name
        self.value = value


class Parser(Transform):
    """Decodes JSON, validated against the stream's JSON Schema when the
    pipeline's ``schemas/`` directory has one."""

    def __init__(self, name, msg_type=None):
        super().__init__(name)


class BatchParser(Parser):
    pass


class Serializer(Transform):
    """Encodes the payload as JSON."""

    def __init__(self, name, dt_format=None):
        super().__init__(name)
        self.dt_format = dt_format


class Batch(Transform):
    """Groups messages: ``batch_size`` of them, or those of
    ``batch_timedelta`` (default 10 s)."""

    def __init__(self, name, batch_size=None, batch_timedelta=timedelta(seconds=10)):
        super().__init__(name)
        if batch_size is None and batch_timedelta is None:
            raise ValueError("At least one of batch_size or batch_timedelta must be set.")
        self.batch_size = batch_size
        self.batch_timedelta = batch_timedelta


class Reducer(Transform):
    """Aggregates the messages of each ``window`` (per ``group_by_key``) with
    accumulators made by ``aggregate_func``."""

    def __init__(self, name, window, aggregate_func, aggregate_backend=None, group_by_key=None):
        super().__init__(name)
        self.window = window
        self.aggregate_func = aggregate_func
        self.aggregate_backend = aggregate_backend
        self.group_by_key = group_by_key


Aggregate = Reducer


class Sink(Step):
    pass


class StreamSink(Sink):
    def __init__(self, name, stream_name):
        super().__init__(name)
        self.stream_name = stream_name


class DevNullSink(Sink):
    """Discards what it takes; with sleep times, a store of that latency:
    a batch of ``batch_size`` records or ``batch_time_ms`` is acknowledged
    a sleep around ``average_sleep_time_ms`` (at most ``max_sleep_time_ms``)
    after it closes, one batch after another."""

    def __init__(self, name, batch_size=None, batch_time_ms=None, average_sleep_time_ms=None,
                 max_sleep_time_ms=None):
        super().__init__(name)
        if average_sleep_time_ms is not None and max_sleep_time_ms is None:
            raise ValueError("max_sleep_time_ms must be set when average_sleep_time_ms is provided")
        self.batch_size = batch_size
        self.batch_time_ms = batch_time_ms
        self.average_sleep_time_ms = average_sleep_time_ms
        self.max_sleep_time_ms = max_sleep_time_ms


class GCSSink(Sink):
    """Google Cloud Storage: the host writes it with object_store_sink
    through GCS's XML (S3-compatible) API, an object a batch of up to
    ``batch_size`` records or those of ``batch_timedelta`` (this host's
    keywords; the original uploaded an object a message); see describe.py."""

    def __init__(self, name, bucket, object_generator=None, thread_count=1, *,
                 batch_size=10000, batch_timedelta=timedelta(seconds=10)):
        super().__init__(name)
        self.bucket = bucket
        self.object_generator = object_generator
        self.thread_count = thread_count
        self.batch_size = batch_size
        self.batch_timedelta = batch_timedelta


class ParquetSerializer(Transform):
    def __init__(self, name, *args, **kwargs):
        super().__init__(name)


class Router(Step):
    def __init__(self, name, routing_function, routing_table):
        super().__init__(name)
        self.routing_function = routing_function
        self.routing_table = routing_table


class Broadcast(Step):
    def __init__(self, name, routes):
        super().__init__(name)
        self.routes = routes


class Pipeline:
    """A source (or a branch) and the steps after it; ``sink``, ``route``
    and ``broadcast`` close it."""

    def __init__(self, source):
        if not isinstance(source, (Source, Branch)):
            raise TypeError(f"a pipeline starts with a source or a branch, got {source!r}")
        self.root = source
        self.steps = []
        self.closed = False

    def __class_getitem__(cls, item):
        return cls

    def _add(self, step, closes):
        if self.closed:
            raise ValueError(f"Cannot add to a pipeline after it has been closed (step "
                             f"{step.name!r}, line {step.line})")
        self.steps.append(step)
        self.closed = closes
        return self

    def apply(self, step):
        if isinstance(step, (Sink, Router, Broadcast)) or not isinstance(step, Step):
            raise TypeError(f"apply() takes a transform step, got {step!r}")
        return self._add(step, False)

    def sink(self, step):
        if not isinstance(step, Sink):
            raise TypeError(f"sink() takes a sink step, got {step!r}")
        return self._add(step, True)

    def route(self, name, routing_function, routing_table):
        return self._add(Router(name, routing_function, routing_table), True)

    def broadcast(self, name, routes):
        return self._add(Broadcast(name, routes), True)


def streaming_source(name, stream_name):
    return Pipeline(StreamSource(name=name, stream_name=stream_name))


def branch(name):
    return Pipeline(Branch(name))
