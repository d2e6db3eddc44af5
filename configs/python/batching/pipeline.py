# Sentry Streams' batching example: metrics in batches of 2 -> the batched
# values -> each parsed -> the batch serialized as a JSON list to
# transformed-events.
from sentry_streams.pipeline import Batch, streaming_source
from sentry_streams.pipeline.pipeline import BatchParser, Map, Serializer, StreamSink

pipeline = streaming_source(
    name="myinput",
    stream_name="ingest-metrics",
)


# Extract bytes from the batched tuples
def extract_bytes_from_batch(msg):
    return [item[0] for item in msg.payload]


parsed_batch = (
    pipeline.apply(Batch("mybatch", batch_size=2))
    .apply(Map("extract_bytes", function=extract_bytes_from_batch))
    .apply(BatchParser("batch_parser"))
)

parsed_batch.apply(Serializer("serializer")).sink(
    StreamSink("mysink", stream_name="transformed-events")
)
