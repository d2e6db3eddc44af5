"""Checks of the callables a pipeline names, made when a step's instance is
created, so that a function the host cannot call is a config error naming
the step, not an error of every record."""
import inspect


def refusal(fn, args):
    """Why `fn` cannot be called with `args` positional arguments (what
    inspect says), or None when it can or its signature cannot be read."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins and C callables
        return None
    try:
        signature.bind(*([None] * args))
    except TypeError as e:
        return str(e)
    return None
