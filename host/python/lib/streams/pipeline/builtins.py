"""Functions the DSL's built-in steps run as Python steps."""
import json


def parse_batch(msg):
    """BatchParser: each value of a batch (bytes, or (bytes, schema) tuples as
    Batch hands them on) parsed from JSON."""
    return [json.loads(item[0] if isinstance(item, tuple) else item) for item in msg.payload]
