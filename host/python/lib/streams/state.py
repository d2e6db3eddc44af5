"""Platform state for Python transforms: a key-value store of the running
step and source partition that the streams host keeps across restarts,
rebalances and reloads, exact under crashes. Declare it on the step in the
pipeline file (``state: {}``, optional ``ttl_ms`` and ``max_value_bytes``),
then, inside the step's function::

    from streams import state

    def count(msg):
        n = int(state.get(msg.key) or 0) + 1
        state.put(msg.key, str(n))
        return {"key": msg.key.decode(), "count": n}

Keys and values are bytes (str is taken as UTF-8); ``get`` returns bytes or
None, ``scan(prefix, limit)`` a list of ``(key, value)`` in byte order of
keys. A call the host refuses raises ``StateError`` and fails the input."""
from streams._state import StateError, erase, get, put, scan  # noqa: F401 (the bridge's)

__all__ = ["StateError", "erase", "get", "put", "scan"]
