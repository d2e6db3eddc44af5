"""What the e2e harness needs to run against BUILD from a benchmark script:
its environment (set unless given) and tests/e2e on the import path."""
import os
import sys

SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def arg(name, default):
    """The value after `name` on the command line, or `default`."""
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv[:-1] else default


def use_build(build):
    os.environ.setdefault("STREAMS_HOST", os.path.join(build, "host", "streams-host"))
    os.environ.setdefault("STREAMS_PLUGINS_DIR", os.path.join(build, "plugins"))
    os.environ.setdefault("STREAMS_TEST_PLUGINS_DIR", os.path.join(build, "test_plugins"))
    os.environ.setdefault("STREAMS_SOURCE_DIR", SOURCE)
    os.environ.setdefault("STREAMS_BUILD_DIR", build)
    sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))


def machine():
    """The CPU model and core count: ratios travel between machines, figures
    do not."""
    with open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f
                      if line.startswith("model name")), "unknown CPU")
    return f"{model}, {os.cpu_count()} cores"
