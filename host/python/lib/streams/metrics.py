"""Counters a Python transform keeps through the host (plugin ABI 1.11).

``increment(name, value=1)`` adds ``value`` to the running step's counter
``name`` (1 to 64 of a-z, 0-9 and _), which the host exports with its own
metrics as ``streams_plugin_<name>_total{pipeline, step}`` (Prometheus) and
``streams.plugin_<name>`` (DogStatsD); it counts on across reloads. A name
the host refuses counts nothing (the host logs why, once). Outside a step's
function it raises RuntimeError.

    from streams import metrics

    def transform(msg):
        if msg.payload.get("org_id") is None:
            metrics.increment("missing_org")
        ...
"""
from streams._metrics import increment  # noqa: F401 (the bridge's)

__all__ = ["increment"]
