"""Stand-ins for two names a pipeline file written for Sentry Streams imports,
so that such a file runs here as it is. The bridge installs them once, last
on ``sys.meta_path``: anything the Python path really holds comes first.

``sentry_kafka_schemas.schema_types.<module>.<Type>``: the schema types a
file imports to write ``Parser[IngestMetric]``. The package is Sentry's and
not packaged for Debian; its types are TypedDicts, dicts at run time, so
each stand-in is a ``dict`` subclass of that name. They do not validate:
``Parser`` validates by the stream's JSON Schema beside the pipeline file.

``sentry_streams.examples.<module>``: the original's examples import their
helpers from its package (``sentry_streams.examples.transform_metrics``);
here that name finds ``<module>.py`` in the directories of the pipeline
file and its modules, the ones the bridge puts ahead of this package."""
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

_SCHEMAS = "sentry_kafka_schemas"
_SCHEMA_TYPES = _SCHEMAS + ".schema_types"
_EXAMPLES = "sentry_streams.examples"
_LIB = os.path.realpath(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _schemas_getattr(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(
        f"{_SCHEMAS} is not installed: the streams host stands in only for its "
        f"{_SCHEMA_TYPES} (names for Parser[...]), not for {_SCHEMAS}.{name}")


def _fill_package(module):
    module.__path__ = []
    if module.__name__.startswith(_SCHEMAS):
        # What "cannot import name X from M (...)" shows in its parentheses.
        module.__file__ = (f"the streams host's stand-in for schema types only: {_SCHEMAS} is "
                           "not installed")
    if module.__name__ == _SCHEMAS:
        module.__getattr__ = _schemas_getattr


def _fill_types(module):
    types = {}

    def schema_type(name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in types:
            types[name] = type(name, (dict,), {"__module__": module.__name__})
        return types[name]

    module.__getattr__ = schema_type


class _Loader(importlib.abc.Loader):
    def __init__(self, fill):
        self._fill = fill

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        self._fill(module)


def _user_dirs():
    """The entries of sys.path ahead of this package's: the bridge's."""
    dirs = []
    for entry in sys.path:
        if entry and os.path.realpath(entry) == _LIB:
            return dirs
        dirs.append(entry)
    return []


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname in (_SCHEMAS, _SCHEMA_TYPES, _EXAMPLES):
            return importlib.util.spec_from_loader(fullname, _Loader(_fill_package),
                                                   is_package=True)
        parent, _, name = fullname.rpartition(".")
        if parent == _SCHEMA_TYPES:
            return importlib.util.spec_from_loader(fullname, _Loader(_fill_types))
        if parent == _EXAMPLES:
            found = importlib.machinery.PathFinder.find_spec(name, _user_dirs())
            if found and found.origin and found.has_location:
                return importlib.util.spec_from_file_location(fullname, found.origin)
        return None


def install():
    """Idempotent."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
