# Sentry Streams' word_counter example: events with a "name" -> (word, 1) ->
# counted per word in windows of 3 -> "word N" to transformed-events.
from word_counter_helpers import GroupByWord, WordCounter, simple_filter, simple_map

from sentry_streams.pipeline import Map, PredicateFilter, Reducer, StreamSink, streaming_source
from sentry_streams.pipeline.window import TumblingWindow

# Windows are assigned 3 elements.
reduce_window = TumblingWindow(window_size=3)

pipeline = (
    streaming_source(
        name="myinput",
        stream_name="events",
    )
    .apply(PredicateFilter("myfilter", function=simple_filter))
    .apply(Map("mymap", function=simple_map))
    .apply(
        Reducer(
            "myreduce",
            window=reduce_window,
            aggregate_func=WordCounter,
            group_by_key=GroupByWord(),
        ),
    )
    .sink(StreamSink("kafkasink", stream_name="transformed-events"))
)
