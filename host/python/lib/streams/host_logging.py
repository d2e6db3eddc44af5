"""Python's `logging` into the host's log, as the original's runner sets
`logging.basicConfig(level=...)` from its `-l`: a record from a step's
function is named by the step ("[python/STEP] LOGGER: message"), one from
elsewhere (a module's import, a thread of the user's) by "[python]"."""
import logging

from . import _log

# Python's levels to the host's (0 debug, 1 info, 2 warn, 3 error).
_TO_HOST = ((logging.ERROR, 3), (logging.WARNING, 2), (logging.INFO, 1))
_FROM_HOST = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR}


def _host_level(levelno):
    return next((host for at, host in _TO_HOST if levelno >= at), 0)


class HostHandler(logging.Handler):
    """Writes each record, with its traceback if any, as a line of the host's
    log at the matching level."""

    def emit(self, record):
        try:
            _log.write(_host_level(record.levelno), f"{record.name}: {self.format(record)}")
        except Exception:  # as logging's own handlers do
            self.handleError(record)


def install(host_level):
    """Routes the root logger to the host's log (once) and gives it the
    host's level."""
    root = logging.getLogger()
    if not any(isinstance(h, HostHandler) for h in root.handlers):
        root.addHandler(HostHandler())
    set_level(host_level)


def set_level(host_level):
    """The root logger at the host's level (it changed: `log-level`)."""
    logging.getLogger().setLevel(_FROM_HOST.get(host_level, logging.INFO))
