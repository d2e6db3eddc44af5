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
    """The CPU model, core count and widest vector instructions (simdjson,
    which the JSON scenarios parse with, picks its kernel by them): ratios
    travel between machines, figures do not."""
    model, flags = "unknown CPU", set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    vector = next((name for flag, name in (("avx512bw", "AVX-512"), ("avx2", "AVX2"),
                                           ("sse4_2", "SSE4.2")) if flag in flags), "no AVX2")
    return f"{model}, {os.cpu_count()} cores, {vector}"
