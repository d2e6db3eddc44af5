"""Metrics a Python transform keeps through the host (plugin ABI 1.11, 1.12).

Names are 1 to 64 of a-z, 0-9 and _, and each is one kind. The host exports
them with its own metrics, labelled with the pipeline and the running step,
and keeps them across reloads:

- ``increment(name, value=1)`` adds to a counter:
  ``streams_plugin_<name>_total`` (Prometheus), ``streams.plugin_<name>``
  (DogStatsD).
- ``gauge(name, value)`` sets a gauge, ``gauge_add(name, delta)`` moves it:
  ``streams_plugin_<name>``. Every instance of the step (one a partition)
  shares the value: set a value of the whole step, add one each instance
  holds a part of.
- ``observe(name, value, buckets=None)`` counts a value in a histogram,
  ``streams_plugin_<name>`` with ``_bucket``, ``_sum`` and ``_count``
  (Prometheus only); ``buckets``, its upper bounds (ascending, at most 16),
  are taken from the first call (default: seconds, 0.001 to 10).
- ``timer(name, buckets=None)`` observes the seconds a ``with`` block (or a
  decorated function) takes.

A name the host refuses keeps nothing (the host logs why, once). Outside a
step's function each raises RuntimeError.

    from streams import metrics

    def transform(msg):
        if msg.payload.get("org_id") is None:
            metrics.increment("missing_org")
        with metrics.timer("lookup_seconds"):
            org = lookup(msg.payload)
        ...
"""
import functools
import time

from streams._metrics import gauge, gauge_add, increment, observe  # noqa: F401 (the bridge's)

__all__ = ["increment", "gauge", "gauge_add", "observe", "timer"]


class timer:
    """Observes, in histogram ``name``, the seconds a ``with`` block or each
    call of a decorated function takes (raising or not)."""

    def __init__(self, name, buckets=None):
        self.name = name
        self.buckets = buckets
        self._started = []  # a stack: the same timer may be entered again

    def __enter__(self):
        self._started.append(time.perf_counter())
        return self

    def __exit__(self, *exc):
        seconds = time.perf_counter() - self._started.pop()
        observe(self.name, seconds, self.buckets)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return timed
