"""Windows of a Reducer: by count of records, or by a duration of event time."""
from datetime import timedelta


class Window:
    def __class_getitem__(cls, item):
        return cls


class TumblingWindow(Window):
    """Fixed windows that do not overlap: ``window_size`` records (an int)
    or a duration (a timedelta, also accepted as ``window_timedelta``)."""

    def __init__(self, window_size=None, window_timedelta=None):
        self.window_size = window_size
        self.window_timedelta = window_timedelta


class SlidingWindow(Window):
    """Windows of ``window_size`` starting every ``window_slide`` (both
    timedeltas, or both counts); they overlap."""

    def __init__(self, window_size, window_slide):
        self.window_size = window_size
        self.window_slide = window_slide


def _amount(value, what):
    if isinstance(value, timedelta):
        ms = value / timedelta(milliseconds=1)
        if ms <= 0 or ms != int(ms):
            raise ValueError(f"{what} must be a positive whole number of milliseconds, got {value}")
        return "ms", int(ms)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return "count", value
    raise ValueError(f"{what} must be a positive int (records) or a timedelta, got {value!r}")


def describe_window(window):
    """The pipeline file's `window:` mapping for `window`."""
    if isinstance(window, TumblingWindow):
        size = window.window_size if window.window_size is not None else window.window_timedelta
        unit, n = _amount(size, "TumblingWindow size")
        return {"type": "tumbling", ("size_ms" if unit == "ms" else "size"): n}
    if isinstance(window, SlidingWindow):
        unit, size = _amount(window.window_size, "SlidingWindow window_size")
        slide_unit, slide = _amount(window.window_slide, "SlidingWindow window_slide")
        if unit != slide_unit:
            raise ValueError("SlidingWindow: give window_size and window_slide both as counts "
                             "or both as timedeltas")
        if unit == "ms":
            return {"type": "sliding", "size_ms": size, "slide_ms": slide}
        return {"type": "sliding", "size": size, "slide": slide}
    raise TypeError(f"window: expected a TumblingWindow or a SlidingWindow, got {window!r}")
