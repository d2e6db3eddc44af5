# Sentry Streams' billing example: outcomes counted by reason and category
# in windows of 3, each window's counts as one JSON object. Parser validates
# against schemas/events.schema.json (the outcome schema).
from sentry_streams.pipeline import Parser, Reducer, StreamSink, streaming_source
from sentry_streams.pipeline.function_template import KVAccumulator
from sentry_streams.pipeline.window import TumblingWindow


class OutcomesBuffer(KVAccumulator):
    """Counts outcomes by reason and category; a window's counts are its value."""

    def __init__(self, outcomes_dict=None):
        if outcomes_dict:
            self.map = outcomes_dict
        else:
            self.map = {}

    def add(self, message):
        value = message.payload
        outcome_type = ""
        if "reason" in value:
            outcome_type += value["reason"] or ""
        if "category" in value:
            outcome_type += str(value["category"])
        if outcome_type in self.map:
            self.map[outcome_type] += 1
        else:
            self.map[outcome_type] = 1
        return self

    def get_value(self):
        return self.map

    def merge(self, other):
        first = self.map
        second = other.map
        for outcome_key in second:
            if outcome_key in first:
                first[outcome_key] += second[outcome_key]
            else:
                first[outcome_key] = second[outcome_key]
        self.map = first
        return self


pipeline = (
    streaming_source(
        name="myinput",
        stream_name="events",
    )
    .apply(Parser("myparser"))
    .apply(
        Reducer(
            "myreduce",
            aggregate_func=lambda: OutcomesBuffer(),
            window=TumblingWindow(window_size=3),
        ),
    )
    .sink(StreamSink("mysink", stream_name="transformed-events"))
)
