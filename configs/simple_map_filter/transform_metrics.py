"""The transforms of simple_map_filter, in Python: the same as the C++
plugin ingest_metrics (plugins/ingest_metrics/), as in the original's
examples/transform_metrics.py."""

REQUIRED = ("org_id", "project_id", "name", "type", "timestamp", "tags", "retention_days",
            "value")


def filter_events(msg):
    """Keeps counters; a message that is not an IngestMetric is an error."""
    missing = [field for field in REQUIRED if field not in msg.payload]
    if missing:
        raise ValueError(f"not an IngestMetric: no {', '.join(missing)}")
    return msg.payload["type"] == "c"


def transform_msg(msg):
    return {**msg.payload, "transformed": True}
