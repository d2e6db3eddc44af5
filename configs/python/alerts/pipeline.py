# Sentry Streams' alerts example: events -> one data point per matching alert
# rule -> aggregated per alert ID in windows of 3 -> JSON to
# transformed-events. There is no schema for the stream here (Parser says so
# once and parses JSON without validating).
from events import AlertsBuffer, GroupByAlertID, build_alert_json, materialize_alerts

from sentry_streams.pipeline import FlatMap, Map, Parser, Reducer, streaming_source
from sentry_streams.pipeline.pipeline import StreamSink
from sentry_streams.pipeline.window import TumblingWindow

pipeline = (
    streaming_source(
        name="myinput",
        stream_name="events",
    )
    .apply(Parser("parser"))
    .apply(FlatMap("myflatmap", function=materialize_alerts))
    .apply(
        Reducer(
            "myreduce",
            window=TumblingWindow(window_size=3),
            aggregate_func=AlertsBuffer,
            group_by_key=GroupByAlertID(),
        ),
    )
    .apply(Map("map_str", function=build_alert_json))
    .sink(StreamSink("kafkasink", stream_name="transformed-events"))
)
