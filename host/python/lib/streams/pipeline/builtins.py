"""Functions the DSL's built-in steps run as Python steps."""
import json
from datetime import datetime


def parse_batch(msg):
    """BatchParser: each value of a batch (bytes, or (bytes, schema) tuples as
    Batch hands them on) parsed from JSON."""
    return [json.loads(item[0] if isinstance(item, tuple) else item) for item in msg.payload]


def serialize(msg, dt_format):
    """Serializer(dt_format=...): the payload as JSON text, its datetimes
    written with ``strftime(dt_format)`` (a Serializer without dt_format is
    the host's serializer step, datetimes as ``isoformat()``)."""
    def dates(value):
        if isinstance(value, datetime):
            return value.strftime(dt_format)
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    return json.dumps(msg.payload, default=dates).encode("utf-8")
