# Sentry Streams' transformer example: metrics, validated against
# schemas/ingest-metrics.v1.schema.json, gathered in sliding windows of 6 s
# every 2 s, each window's list serialized to transformed-events.
from datetime import timedelta

from sentry_streams.pipeline import streaming_source
from sentry_streams.pipeline.function_template import Accumulator
from sentry_streams.pipeline.pipeline import Parser, Reducer, Serializer, StreamSink
from sentry_streams.pipeline.window import SlidingWindow


class TransformerBatch(Accumulator):
    def __init__(self):
        self.batch = []

    def add(self, value):
        self.batch.append((value.payload, value.schema))
        return self

    def get_value(self):
        return self.batch

    def merge(self, other):
        self.batch.extend(other.batch)
        return self


reduce_window = SlidingWindow(window_size=timedelta(seconds=6), window_slide=timedelta(seconds=2))

pipeline = streaming_source(name="myinput", stream_name="ingest-metrics")

chain1 = pipeline.apply(Parser("parser"))
chain2 = chain1.apply(Reducer("custom_batcher", reduce_window, TransformerBatch))
chain3 = chain2.apply(Serializer("serializer"))
chain4 = chain3.sink(StreamSink("kafkasink2", stream_name="transformed-events"))
