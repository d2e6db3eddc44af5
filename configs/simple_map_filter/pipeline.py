# simple_map_filter in the original's Python DSL, with Python transforms:
#   streams-host run --config deployment.yaml pipeline.py
# The same topology, topics and output as pipeline.yaml (which uses the C++
# plugin). A file written for Sentry Streams runs as it is, but for the
# import of its schema types (IngestMetric): Parser finds the stream's JSON
# Schema in schemas/ beside this file, if there is one.
from transform_metrics import filter_events, transform_msg

from sentry_streams.pipeline.pipeline import (
    Map,
    Parser,
    PredicateFilter,
    Serializer,
    StreamSink,
    streaming_source,
)

pipeline = streaming_source(name="myinput", stream_name="ingest-metrics")

(
    pipeline.apply(Parser("parser"))
    .apply(PredicateFilter("filter", function=filter_events))
    .apply(Map("transform", function=transform_msg))
    .apply(Serializer("serializer"))
    .sink(StreamSink("mysink", stream_name="transformed-events"))
)
