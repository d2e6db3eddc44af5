"""The pipeline DSL (the names of ``sentry_streams.pipeline``)."""
from .pipeline import (Batch, BatchParser, Branch, Broadcast, DevNullSink, Filter, FlatMap,
                       GCSSink, HeadersFilter, Map, ParquetSerializer, Parser, Pipeline,
                       PredicateFilter, Reducer, Router, Serializer, StreamSink, StreamSource,
                       branch, streaming_source)

__all__ = [
    "Batch", "BatchParser", "Branch", "Broadcast", "DevNullSink", "Filter", "FlatMap", "GCSSink",
    "HeadersFilter", "Map", "ParquetSerializer", "Parser", "Pipeline", "PredicateFilter",
    "Reducer", "Router", "Serializer", "StreamSink", "StreamSource", "branch",
    "streaming_source",
]
