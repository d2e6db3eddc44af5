"""Base classes of the original's function templates: an Accumulator (the
aggregate of a Reducer) and a GroupBy (its key)."""


class Accumulator:
    """Aggregates the messages of one window: ``add(msg) -> self``,
    ``get_value()`` and ``merge(other) -> self``. A Reducer's
    ``aggregate_func`` makes an empty one (the class itself, say). The host
    keeps accumulators as their pickles between records."""

    def __class_getitem__(cls, item):
        return cls

    def add(self, value):
        raise NotImplementedError

    def get_value(self):
        raise NotImplementedError

    def merge(self, other):
        raise NotImplementedError


class KVAccumulator(Accumulator):
    pass


class GroupBy:
    """The key a Reducer groups by: ``get_group_by_key(payload)``."""

    def get_group_by_key(self, payload):
        raise NotImplementedError


class AggregationBackend:
    def __class_getitem__(cls, item):
        return cls


class KVAggregationBackend(AggregationBackend):
    def __init__(self):
        self.map = {}

    def flush_aggregate(self, aggregate):
        self.map.update(aggregate)
