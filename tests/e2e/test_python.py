"""Python transforms (`python: module.function` steps) run by the host.

On the dev broker: simple_map_filter with its filter and map written in
Python, behind a parser with the real ingest-metrics schema, gives the YAML
example's output (the same JSON values, keys in the same order); a record
the Python map raises on is in the DLQ with the exception's type, text and
traceback as headers; every other record is delivered and all is committed.

Locally: every function kind (filter, map, flat_map, route by an Enum,
reduce with an Accumulator class and a group key), a function that keeps
the messages it was given, SystemExit from a function, a module that fails
to import and a name that is not callable; streams.state; the original's
Message methods (size, deepcopy, pickling, which an accumulator keeping
messages needs)."""
import glob
import json
import os
import re
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

METRICS_FNS = '''
from streams import metrics

REQUIRED = {"org_id", "project_id", "name", "type", "timestamp", "tags", "retention_days", "value"}


def is_counter(msg):
    missing = REQUIRED - msg.payload.keys()
    if missing:
        raise ValueError(f"not an IngestMetric: no {', '.join(sorted(missing))}")
    return msg.payload["type"] == "c"


@metrics.timer("transform_seconds")
def transform(msg):
    metrics.increment("transformed")
    metrics.increment("org_ids", msg.payload["org_id"])
    metrics.increment("Bad Name")  # refused: counts nothing
    metrics.gauge("last_org", msg.payload["org_id"])
    metrics.gauge_add("orgs_added", msg.payload["org_id"])
    metrics.observe("orgs", msg.payload["org_id"], [1, 10, 1000])
    metrics.gauge("org_ids_total", 1)  # refused: the counter org_ids writes that series
    for bad in (lambda: metrics.gauge("no_value"), lambda: metrics.observe("x", 1, ["y"]),
                lambda: metrics.gauge_add(3, 1)):
        try:
            bad()
        except TypeError:
            continue
        raise AssertionError("streams.metrics took a bad call")  # the record fails
    return {**msg.payload, "transformed": True}


def check(msg):
    if msg.payload["org_id"] == 666:
        raise ValueError("org 666 is banned")
    if msg.payload["org_id"] == 667:
        raise ValueError("x" * 100000)
    return msg.payload
'''

BROKER_PIPELINE = """source: {name: in, stream_name: py-in}
steps:
  - {kind: parser, name: parse}
  - {kind: filter, name: filter, python: metrics_fns.is_counter}
  - {kind: map, name: transform, python: metrics_fns.transform}
  - {kind: map, name: check, python: metrics_fns.check}
  - {kind: serializer, name: ser}
  - {kind: sink, name: out, stream_name: py-out}
"""

BANNED = {"org_id": 666, "project_id": 1, "name": "c:x@none", "tags": {}, "timestamp": 1846062331,
          "type": "c", "retention_days": 90, "value": 1}


def ordered(line):
    """A JSON text as a value whose comparison sees the order of keys."""
    return json.loads(line, object_pairs_hook=lambda pairs: pairs)


def on_broker(env):
    bootstrap = env.start_broker(["py-in:1", "py-out:1", "py-dlq:1"])
    env.write("metrics_fns.py", METRICS_FNS)
    deployment = h.deployment(sink="out", source_extra="dlq: {topic: py-dlq}")
    host = env.start_host(env.write("p.yaml", BROKER_PIPELINE), env.write("d.yaml", deployment),
                          bootstrap, extra=["--admin-port", "0"])
    port = h.admin_port(env, host)
    with open(os.path.join(h.EXAMPLE_DIR, "input.jsonl"), "rb") as f:
        lines = [line.rstrip(b"\n") for line in f if line.strip()]
    lines.append(json.dumps(BANNED).encode())
    lines.append(json.dumps(dict(BANNED, org_id=667)).encode())  # a 100 KB exception message
    # kcat's -K splits at the first ':' of a line: every key is k.
    h.produce_kcat(bootstrap, "py-in", [(b"k", line) for line in lines])
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("py-in", 1))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        text = r.read().decode()
    view = h.run_cli(["top", "--admin-port", str(port), "--frames", "1"])
    assert env.stop(host) == 0, env.log(host)
    assert view.returncode == 0, view.stderr
    assert re.search(r"\ntransform +transformed +counter +4 +-\n", view.stdout), view.stdout
    assert re.search(r"\ntransform +last_org +gauge +667 +-\n", view.stdout), view.stdout
    assert re.search(r"\ntransform +orgs +histogram +4 +- +mean 438.5\n", view.stdout), view.stdout
    # streams.metrics: the transform's counts (four counters: the example's
    # two, orgs 420 and 1, and the two banned orgs), a refused name logged once.
    step = 'pipeline="in",step="transform"'
    assert f"\nstreams_plugin_transformed_total{{{step}}} 4\n" in text, text
    assert f"\nstreams_plugin_org_ids_total{{{step}}} {420 + 1 + 666 + 667}\n" in text, text
    assert env.log(host).count("counter name 'Bad Name' refused") == 1, env.log(host)
    # Its gauges and histograms (ABI 1.12): the last org set, the orgs added;
    # each org in buckets 1, 10 and 1000; a timer's seconds in the default ones.
    assert f"\nstreams_plugin_last_org{{{step}}} 667\n" in text, text
    assert f"\nstreams_plugin_orgs_added{{{step}}} {420 + 1 + 666 + 667}\n" in text, text
    assert "# TYPE streams_plugin_orgs histogram\n" in text, text
    for le, n in (("1", 1), ("10", 1), ("1000", 4), ("+Inf", 4)):
        assert f'\nstreams_plugin_orgs_bucket{{{step},le="{le}"}} {n}\n' in text, text
    assert f"\nstreams_plugin_orgs_sum{{{step}}} {420 + 1 + 666 + 667}\n" in text, text
    assert f"\nstreams_plugin_transform_seconds_count{{{step}}} 4\n" in text, text
    assert f'\nstreams_plugin_transform_seconds_bucket{{{step},le="10"}} 4\n' in text, text
    assert "streams_plugin_org_ids_total is the counter 'org_ids'" in env.log(host), env.log(host)
    assert f"\nstreams_plugin_org_ids_total{{{step}}} {420 + 1 + 666 + 667}\n" in text, text

    with open(os.path.join(h.EXAMPLE_DIR, "expected_output.jsonl")) as f:
        expected = [ordered(line) for line in f if line.strip()]
    out = h.read_all(bootstrap, h.partitions("py-out", 1))
    assert [ordered(r.value) for r in out] == expected, [r.value for r in out]
    assert all(r.key == b"k" for r in out)

    dlq = h.read_all(bootstrap, h.partitions("py-dlq", 1))
    errors = sorted((dict(r.headers)["streams.error.step"], dict(r.headers)["streams.error.kind"])
                    for r in dlq)
    # The example's two malformed records (bad JSON; a counter with fields
    # missing, which the Python filter raises on), and the banned one.
    assert errors == [(b"check", b"exception"), (b"check", b"exception"),
                      (b"filter", b"exception"), (b"parse", b"invalid_input")], errors
    huge = next(dict(r.headers) for r in dlq if b"xxx" in dict(r.headers)["streams.error.message"])
    assert len(huge["streams.error.message"]) == 60000, len(huge["streams.error.message"])
    missing = next(r for r in dlq if dict(r.headers)["streams.error.step"] == b"filter")
    assert dict(missing.headers)["streams.error.message"].startswith(
        b"ValueError: not an IngestMetric: no name, project_id"), missing.headers
    raised = next(r for r in dlq if dict(r.headers)["streams.error.message"].startswith(
        b"ValueError: org 666"))
    headers = dict(raised.headers)
    assert json.loads(raised.value) == BANNED, raised.value
    assert headers["streams.error.step"] == b"check", headers
    assert headers["streams.error.plugin"] == b"python", headers
    assert headers["streams.error.message"] == b"ValueError: org 666 is banned", headers
    assert headers["streams.error.exception_type"] == b"ValueError", headers
    traceback = headers["streams.error.traceback"].decode()
    raise_line = METRICS_FNS.splitlines().index('        raise ValueError("org 666 is banned")') + 1
    assert f'metrics_fns.py", line {raise_line}, in check' in traceback, traceback
    assert 'raise ValueError("org 666 is banned")' in traceback, traceback
    assert len(out) + len(dlq) + 2 == len(lines)  # 2 not counters: filtered out


KINDS_FNS = '''
import enum
import json
import sys

from helper import shout

kept = []


class Size(enum.Enum):
    SMALL = "small"
    BIG = "big"


def words(msg):
    # Each word goes on as a str: Python steps hand each other objects.
    return msg.payload.decode().split()


def size(msg):
    return Size.BIG if len(msg.payload) > 3 else Size.SMALL


def upper(msg):
    return shout(msg.payload)


def keep(msg):
    kept.append(msg)
    # Every message kept so far still reads as it was, after its call ended.
    return " ".join(m.payload + "@" + str(m.key) for m in kept)


def pair(msg):
    return (msg.payload, 1)


def first(payload_message):
    return payload_message.payload[0]


class Counter:
    def __init__(self):
        self.word, self.count = "", 0

    def add(self, msg):
        self.word, self.count = msg.payload[0], self.count + msg.payload[1]
        return self

    def get_value(self):
        return f"{self.word} {self.count}"

    def merge(self, other):
        self.count += other.count
        return self


def leave(msg):
    if msg.payload == "exit":
        sys.exit(3)
    return msg.payload


not_callable = 42
'''

KINDS_PIPELINE = """source: {name: in, stream_name: words}
steps:
  - {kind: flat_map, name: split, python: kinds_fns.words}
  - {kind: map, name: leave, python: kinds_fns.leave}
  - kind: route
    name: by_size
    python: kinds_fns.size
    branches:
      small:
        - {kind: map, name: pair, python: kinds_fns.pair}
        - kind: reduce
          name: count
          python: kinds_fns.Counter
          window: {type: tumbling, size: 2}
          group_by: {python: kinds_fns.first}
        - {kind: sink, name: counts, type: file, path: %(counts)s}
      big:
        - {kind: map, name: upper, python: kinds_fns.upper}
        - {kind: map, name: keep, python: kinds_fns.keep}
        - {kind: sink, name: bigs, type: file, path: %(bigs)s}
"""


def local(env, pipeline, text):
    return subprocess.run([h.HOST, "run", "--runtime", "local", "--error-policy",
                           "skip-and-count", pipeline], input=text, capture_output=True,
                          text=True, timeout=120)


def every_kind(env):
    env.write("kinds_fns.py", KINDS_FNS)
    env.write("helper.py", "def shout(text):\n    return text.upper() + '!'\n")
    counts, bigs = env.path("counts.txt"), env.path("bigs.txt")
    pipeline = env.write("kinds.yaml", KINDS_PIPELINE % {"counts": counts, "bigs": bigs})
    result = local(env, pipeline, "a bb a\nhello a exit bb\nworld\n")
    assert result.returncode == 0, result.stderr
    assert "local: 3 record(s) read, 1 skipped" in result.stderr, result.stderr
    assert "kinds_fns.leave raised SystemExit; a transform cannot stop the host" in result.stderr
    # Small words, grouped by word, in count windows of two records (the
    # last, open one flushed at the end of the input).
    with open(counts) as f:
        assert sorted(f.read().split("\n")[:-1]) == ["a 1", "a 2", "bb 2"], open(counts).read()
    with open(bigs) as f:
        assert f.read().split("\n")[:-1] == ["HELLO!@None", "HELLO!@None WORLD!@None"]


MESSAGE_FNS = """import copy
import pickle


def probe(msg):
    again = pickle.loads(pickle.dumps(msg))
    copied = msg.deepcopy()
    return " ".join([str(msg.size()), repr(copied.payload), repr(copy.deepcopy(msg).payload),
                     repr(again.payload), again.topic, str(again.offset), repr(again.key),
                     str(again.size())])


class Keeper:
    # Keeps the messages themselves: the host pickles the accumulator.
    def __init__(self):
        self.messages = []

    def add(self, msg):
        self.messages.append(msg)
        return self

    def get_value(self):
        return ",".join(m.payload.decode() + "@" + str(m.offset) for m in self.messages)

    def merge(self, other):
        self.messages += other.messages
        return self
"""

MESSAGE_PIPELINE = """source: {name: in, stream_name: msgs}
steps:
  - kind: broadcast
    name: both
    branches:
      probe:
        - {kind: map, name: probe, python: message_fns.probe}
        - {kind: sink, name: probed, type: file, path: %(probed)s}
      keep:
        - kind: reduce
          name: keep
          python: message_fns.Keeper
          window: {type: tumbling, size: 2}
        - {kind: sink, name: kept, type: file, path: %(kept)s}
"""


def message_api(env):
    """The original's Message methods: size(), deepcopy() (and copy.deepcopy),
    and pickling, which an accumulator keeping messages needs."""
    env.write("message_fns.py", MESSAGE_FNS)
    probed, kept = env.path("probed.txt"), env.path("kept.txt")
    pipeline = env.write("messages.yaml", MESSAGE_PIPELINE % {"probed": probed, "kept": kept})
    result = local(env, pipeline, "abc\nde\nf\n")
    assert result.returncode == 0, result.stderr
    with open(probed) as f:
        assert f.read().split("\n")[:-1] == [
            "3 b'abc' b'abc' b'abc' stdin 0 None 3", "2 b'de' b'de' b'de' stdin 1 None 2",
            "1 b'f' b'f' b'f' stdin 2 None 1"], open(probed).read()
    with open(kept) as f:
        assert f.read().split("\n")[:-1] == ["abc@0,de@1", "f@2"], open(kept).read()


LAZY_FNS = """
def gen(msg):
    yield msg.payload


def drain(msg):
    return [item.decode() for item in msg.payload]


async def coro(msg):
    return msg.payload


async def akeep(msg):
    return True


async def apick(msg):
    return "a"
"""


def lazy_values(env):
    """A map that returns a generator or a coroutine (a yield or an async
    def by mistake) to a sink fails each input, saying why (its repr() went
    on); to a Python step, the object itself goes on, and the log says so,
    once a step. A filter's coroutine (always true) fails each input, saying
    why, as a route's does."""
    env.write("lazy_fns.py", LAZY_FNS)

    def run(name, step):
        """`step` (YAML lines; {out}: the file sink) over three lines."""
        out = env.path(name + ".txt")
        pipeline = env.write(name + ".yaml", "source: {name: in, stream_name: x}\nsteps:\n" +
                             step.format(out=out))
        return local(env, pipeline, "a\nb\nc\n"), out

    sink = "  - {{kind: sink, name: out, type: file, path: {out}}}\n"
    for name, what in (("gen", "a generator (a function with yield)"),
                       ("coro", "a coroutine (an async def, never awaited)")):
        result, out = run(name, f"  - {{{{kind: map, name: m, python: lazy_fns.{name}}}}}\n" + sink)
        assert result.returncode == 0, result.stderr
        assert "local: 3 record(s) read, 3 skipped" in result.stderr, result.stderr
        assert result.stderr.count(f"TypeError: the function returned {what}, which JSON cannot "
                                   "represent, to a step that reads bytes") == 3, result.stderr
        assert os.path.getsize(out) == 0
    result, out = run("drained", "  - {{kind: map, name: m, python: lazy_fns.gen}}\n"
                                 "  - {{kind: map, name: d, python: lazy_fns.drain}}\n" + sink)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("lazy_fns.gen returned a generator (a function with yield) as a "
                               "value: a Python step after it gets it as it is") == 1, result.stderr
    with open(out) as f:
        assert f.read().splitlines() == ['["a"]', '["b"]', '["c"]']
    result, out = run("akeep", "  - {{kind: filter, name: f, python: lazy_fns.akeep}}\n" + sink)
    assert result.returncode == 0, result.stderr
    assert "local: 3 record(s) read, 3 skipped" in result.stderr, result.stderr
    assert result.stderr.count("TypeError: lazy_fns.akeep returned a coroutine (an async def, "
                               "never awaited): a filter returns a truth value") == 3, result.stderr
    assert "never awaited\n" not in result.stderr and "RuntimeWarning" not in result.stderr
    assert os.path.getsize(out) == 0
    result, _ = run("apick", "  - kind: route\n    name: r\n    python: lazy_fns.apick\n"
                             "    branches:\n      a:\n    " + sink)
    assert ("TypeError: lazy_fns.apick returned a coroutine (an async def, never awaited): a "
            "route returns a branch name") in result.stderr, result.stderr


OBJECT_FNS = """
from dataclasses import dataclass


@dataclass
class Point:
    x: int


def point(msg):
    return Point(len(msg.payload))


def keep(msg):
    return msg.payload.x > 0


def x(msg):
    return {"x": msg.payload.x}


class Plain:
    pass


@dataclass(frozen=True)
class Tag:
    name: str


def plain_key(msg):
    return Plain()


def tag_key(msg):
    return Tag(msg.payload.decode()[0])


class Count:
    def __init__(self):
        self.n = 0

    def add(self, msg):
        self.n += 1
        return self

    def get_value(self):
        return {"n": self.n}

    def merge(self, other):
        self.n += other.n
        return self
"""


def objects(env):
    """A value JSON cannot represent (a dataclass) goes to the Python steps
    after it as itself, through filters and broadcasts; where a step that
    reads bytes may get it (here a broadcast's other branch), each input
    fails naming the type, where its repr() went on before."""
    env.write("object_fns.py", OBJECT_FNS)
    out = env.path("objects.txt")
    head = ("source: {name: in, stream_name: x}\nsteps:\n"
            "  - {kind: map, name: m, python: object_fns.point}\n"
            "  - {kind: filter, name: f, python: object_fns.keep}\n")
    to_x = f"  - {{kind: map, name: x, python: object_fns.x}}\n" \
           f"  - {{kind: sink, name: out, type: file, path: {out}}}\n"
    result = local(env, env.write("objects.yaml", head + to_x), "a\nbb\n")
    assert result.returncode == 0, result.stderr
    with open(out) as f:
        assert f.read().splitlines() == ['{"x": 1}', '{"x": 2}']
    branches = ("  - kind: broadcast\n    name: b\n    branches:\n      a:\n" +
                "".join("    " + line + "\n" for line in to_x.splitlines()) +
                "      raw:\n        - {kind: sink, name: raw, type: devnull}\n")
    result = local(env, env.write("objects_raw.yaml", head + branches), "a\nbb\n")
    assert result.returncode == 0, result.stderr
    assert "local: 2 record(s) read, 2 skipped" in result.stderr, result.stderr
    assert result.stderr.count("TypeError: the function returned a Point, which JSON cannot "
                               "represent") == 2, result.stderr
    assert "skipped stdin[0]@0: step 'm' " in result.stderr, result.stderr
    # A group key JSON cannot represent is its repr(): a dataclass's groups;
    # one whose repr() names its address would make every record a group.
    reduce = ("source: {name: in, stream_name: x}\nsteps:\n  - kind: reduce\n    name: r\n"
              "    python: object_fns.Count\n    window: {type: tumbling, size: 2}\n"
              "    group_by: {python: object_fns.%s}\n"
              f"  - {{kind: sink, name: out, type: file, path: {out}}}\n")
    os.remove(out)
    result = local(env, env.write("tag_key.yaml", reduce % "tag_key"), "a1\na2\nb1\nb2\n")
    assert result.returncode == 0, result.stderr
    with open(out) as f:
        assert f.read().splitlines() == ['{"n": 2}', '{"n": 2}']
    result = local(env, env.write("plain_key.yaml", reduce % "plain_key"), "a1\na2\n")
    assert "local: 2 record(s) read, 2 skipped" in result.stderr, result.stderr
    assert result.stderr.count("TypeError: the group_by function returned a Plain, which JSON "
                               "cannot represent and whose repr() names its address") == 2, \
        result.stderr


def virtualenv(env):
    """A package installed in a virtualenv beside the pipeline (a real venv,
    its .pth files read) is imported when the host runs with the venv's
    VIRTUAL_ENV, as `bin/activate` sets it; without it the import error says
    how, unless the name is a typo of a module there is; a venv of another
    Python is said and not used."""
    venv = env.path("venvd/.venv")
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", venv], check=True)
    site = glob.glob(os.path.join(venv, "lib", "python3.*", "site-packages"))[0]
    os.makedirs(os.path.join(site, "vendored"))
    with open(os.path.join(site, "vendored.pth"), "w") as f:
        f.write("vendored\n")
    with open(os.path.join(site, "vendored", "loudlib.py"), "w") as f:
        f.write("def loud(data):\n    return data.upper() + b'!'\n")
    env.write("venvd/venv_fns.py", "import loudlib\n\ndef m(msg):\n"
                                   "    return loudlib.loud(msg.payload)\n")
    pipeline = env.write("venvd/p.yaml", "source: {name: in, stream_name: x}\nsteps:\n"
                                         "  - {kind: map, name: m, python: venv_fns.m}\n"
                                         "  - {kind: sink, name: out, stream_name: o}\n")

    def run(venv_dir):
        environ = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        if venv_dir:
            environ["VIRTUAL_ENV"] = venv_dir
        return subprocess.run([h.HOST, "run", "--runtime", "local", pipeline], input="hi\n", capture_output=True, text=True,
                              timeout=120, env=environ)

    result = run(venv)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["HI!"], result.stdout
    assert f"python: the packages of the virtualenv {venv} ({site}) come before the system's" \
        in result.stderr, result.stderr
    result = run(None)
    assert result.returncode == 2, result.stderr
    assert "No module named 'loudlib'" in result.stderr, result.stderr
    assert "(a package installed in a virtualenv: start the host with that venv's VIRTUAL_ENV " \
        "set" in result.stderr, result.stderr
    other = env.path("venvd/other")
    os.makedirs(os.path.join(other, "lib", "python2.7", "site-packages"))
    result = run(other)
    assert result.returncode == 2, result.stderr
    assert f"python: the virtualenv VIRTUAL_ENV={other} has no lib/python3." in result.stderr, \
        result.stderr
    # A typo of a module there is gets the name meant, not the venv hint.
    env.write("venvd/venv_fns.py", "import venv_fn\n")
    result = run(None)
    assert result.returncode == 2, result.stderr
    assert "(no module venv_fn on the Python path; did you mean 'venv_fns'?)" in result.stderr, \
        result.stderr
    assert "virtualenv" not in result.stderr, result.stderr
    env.write("venvd/p.yaml", "source: {name: in, stream_name: x}\nsteps:\n"
                              "  - {kind: map, name: m, python: venv_fn.m}\n"
                              "  - {kind: sink, name: out, stream_name: o}\n")
    result = run(None)
    assert "python venv_fn.m: no module named venv_fn on the Python path; did you mean " \
        "'venv_fns'?" in result.stderr, result.stderr


LOGGING_FNS = """
import logging
import threading

log = logging.getLogger("myapp.transforms")
log.info("imported")


def m(msg):
    log.info("got %s", msg.payload)
    log.debug("detail of %s", msg.payload)
    if msg.payload == b"boom":
        try:
            1 / 0
        except ZeroDivisionError:
            log.exception("failed on %r", msg.payload)
    worker = threading.Thread(target=lambda: log.warning("from a thread"))
    worker.start()
    worker.join()
    return msg.payload
"""


def logging_to_host(env):
    """Python's logging goes to the host's log at the host's level (as the
    original's runner sets it from -l): named by the step in its function,
    by [python] at import and on the user's threads; tracebacks included."""
    env.write("logging_fns.py", LOGGING_FNS)
    pipeline = env.write("logging.yaml", "source: {name: in, stream_name: x}\nsteps:\n"
                                         "  - {kind: map, name: m, python: logging_fns.m}\n"
                                         "  - {kind: sink, name: out, type: devnull}\n")
    result = local(env, pipeline, "hi\nboom\n")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    for level, text in (("INFO ", "[python] myapp.transforms: imported"),
                        ("INFO ", "[python/m] myapp.transforms: got b'hi'"),
                        ("WARN ", "[python] myapp.transforms: from a thread"),
                        ("ERROR", "[python/m] myapp.transforms: failed on b'boom'")):
        assert any(line.endswith(f"{level} {text}") for line in lines), (text, result.stderr)
    assert "ZeroDivisionError: division by zero" in result.stderr, result.stderr
    assert "detail of" not in result.stderr, result.stderr  # debug, under the host's info
    result = subprocess.run([h.HOST, "run", "--runtime", "local", "-l", "debug", pipeline],
                            input="hi\n", capture_output=True, text=True, timeout=120)
    assert "DEBUG [python/m] myapp.transforms: detail of b'hi'" in result.stderr, result.stderr


ARITY_FNS = """
def none():
    return b"x"


def two(msg, extra):
    return msg.payload


def fine(msg, extra=None, *more):
    return msg.payload


class NeedsSeed:
    def __init__(self, seed):
        self.seed = seed
"""


def refused(env):
    """A step's callable that cannot be used is a config error naming the
    step's line: a function that cannot take the message (it failed every
    record), an accumulator factory that cannot be called with nothing."""
    env.write("broken_mod.py", "def f(msg)\n    return msg\n")
    env.write("arity_fns.py", ARITY_FNS)
    cases = {"broken_mod.f": "SyntaxError", "kinds_fns.not_callable": "is not callable (it is a int)",
             "kinds_fns.nope": "module kinds_fns has no nope",
             "no_such_module.f": "no module named no_such_module",
             "arity_fns.none": "arity_fns.none cannot take the message, its one argument: too "
                               "many positional arguments",
             "arity_fns.two": "arity_fns.two cannot take the message, its one argument: missing "
                              "a required argument: 'extra'"}
    pipeline = env.write("arity.yaml", "source: {name: in, stream_name: x}\nsteps:\n"
                                       "  - kind: reduce\n    name: r\n"
                                       "    python: arity_fns.NeedsSeed\n"
                                       "    window: {type: tumbling, size: 2}\n"
                                       "  - {kind: sink, name: out, type: devnull}\n")
    result = local(env, pipeline, "")
    assert result.returncode == 2, result.stderr
    assert "arity.yaml:5:13: steps[0].python: step 'r': python arity_fns.NeedsSeed: " \
           "arity_fns.NeedsSeed cannot be called with no arguments, as a reduce's accumulator " \
           "factory is: missing a required argument: 'seed'" in result.stderr, result.stderr
    pipeline = env.write("fine.yaml", "source: {name: in, stream_name: x}\nsteps:\n"
                                      "  - {kind: map, name: m, python: arity_fns.fine}\n"
                                      "  - {kind: sink, name: out, type: devnull}\n")
    assert local(env, pipeline, "a\n").returncode == 0
    for name, why in cases.items():
        pipeline = env.write("bad.yaml", f"""source: {{name: in, stream_name: x}}
steps:
  - {{kind: map, name: m, python: {name}}}
  - {{kind: sink, name: out, type: devnull}}
""")
        result = local(env, pipeline, "")
        assert result.returncode == 2, (name, result.stdout, result.stderr)  # a config error
        assert "bad.yaml:3:" in result.stderr and why in result.stderr, (name, result.stderr)


CORPUS = [
    '{"a": "\\u00e9\\ud83d\\ude00 \\u0001 \\" \\\\ / \\u007f", "b": [1.5, -0.0, 1e300, 3, -7]}',
    '{"small": -9223372036854775808, "u": 18446744073709551615, "i": 9007199254740993}',
    '{"x": 0.1, "y": 2.5e-08, "z": 100000000000000000000.0, "n": null, "t": true, "f": false}',
    '{"nested": {"deep": [[[{"k": ["v"]}]]]}, "empty": {}, "none": []}',
    '{"dup": 1, "dup": 2}',
    '["top", "level", 1]',
    '"just a string"',
    '{"text": "\u00e9\u00e8 raw UTF-8 \u4e2d\u6587"}',
]
CODEC_FNS = '''
import enum


class Level(enum.IntEnum):
    HIGH = 3


def same(msg):
    return msg.payload


def made(msg):
    return [{1: "int key", None: "none key", 1.5: "float key", True: "bool key"},
            (1, 2), float("nan"), float("inf"), -float("inf"), 10 ** 30, Level.HIGH,
            {"s": "\\u2603 \\ud83d\\ude00"}]
'''


def codec_matches_json(env):
    """What Python steps read from JSON and write as JSON is exactly what
    json.loads and json.dumps give (the bridge's own codec, or json's)."""
    env.write("codec_fns.py", CODEC_FNS)
    out = env.path("codec.txt")
    pipeline = env.write("codec.yaml", f"""source: {{name: in, stream_name: x}}
steps:
  - {{kind: parser, name: parse}}
  - {{kind: map, name: same, python: codec_fns.same}}
  - {{kind: sink, name: out, type: file, path: {out}}}
""")
    result = local(env, pipeline, "\n".join(CORPUS) + "\n")
    assert result.returncode == 0, result.stderr
    with open(out) as f:
        got = f.read().splitlines()
    # A str goes out as its text (a map's rule), anything else as JSON.
    want = [v if isinstance(v, str) else json.dumps(v) for v in map(json.loads, CORPUS)]
    assert got == want, (got, want)
    pipeline = env.write("made.yaml", f"""source: {{name: in, stream_name: x}}
steps:
  - {{kind: map, name: made, python: codec_fns.made}}
  - {{kind: sink, name: out, type: file, path: {out}}}
""")
    os.unlink(out)
    result = local(env, pipeline, "x\n")
    assert result.returncode == 0, result.stderr
    namespace = {}
    exec(CODEC_FNS, namespace)
    with open(out) as f:
        assert f.read() == json.dumps(namespace["made"](None)) + "\n"


STATE_FNS = '''
from streams import state


def count(msg):
    n = int(state.get(msg.payload) or 0) + 1
    state.put(msg.payload, str(n))
    if msg.payload == b"dump":
        return ",".join(f"{k.decode()}={v.decode()}" for k, v in state.scan("w", limit=2))
    return f"{msg.payload.decode()} {n}"


def undeclared(msg):
    state.get(b"x")
    return msg.payload


def outside():
    try:
        state.get(b"x")
    except state.StateError as e:
        return str(e)


OUTSIDE = outside()  # at import: no step's function runs
'''


def stateful(env):
    """streams.state: a running count per value, a scan in key order; a step
    without `state:` that calls it fails its inputs (contract); a call
    outside a step's function raises StateError."""
    env.write("state_fns.py", STATE_FNS)
    out = env.path("state.txt")
    pipeline = env.write("state.yaml", f"""source: {{name: in, stream_name: x}}
steps:
  - {{kind: map, name: count, python: state_fns.count, state: {{}}}}
  - {{kind: map, name: plain, python: state_fns.undeclared}}
  - {{kind: sink, name: out, type: file, path: {out}}}
""")
    result = local(env, pipeline, "wb\nwa\nwb\nwc\ndump\n")
    assert result.returncode == 0, result.stderr
    with open(out) as f:
        assert f.read() == "", "a step without state: passed records on"
    assert "a state call from a step that declares no state" in result.stderr, result.stderr
    pipeline = env.write("state.yaml", f"""source: {{name: in, stream_name: x}}
steps:
  - {{kind: map, name: count, python: state_fns.count, state: {{}}}}
  - {{kind: sink, name: out, type: file, path: {out}}}
""")
    result = local(env, pipeline, "wb\nwa\nwb\nwc\ndump\n")
    assert result.returncode == 0, result.stderr
    with open(out) as f:
        assert f.read().splitlines() == ["wb 1", "wa 1", "wb 2", "wc 1", "wa=1,wb=2"]
    env.write("outside_fns.py", STATE_FNS.replace("OUTSIDE = outside()", "OUTSIDE = outside()\n"
                                                  "\n\ndef report(msg):\n    return OUTSIDE"))
    out = env.path("outside.txt")
    pipeline = env.write("outside.yaml", f"""source: {{name: in, stream_name: x}}
steps:
  - {{kind: map, name: report, python: outside_fns.report}}
  - {{kind: sink, name: out, type: file, path: {out}}}
""")
    result = local(env, pipeline, "x\n")
    assert result.returncode == 0, result.stderr
    with open(out) as f:
        assert f.read() == "streams.state is only usable while a step's function runs\n"


def main():
    with h.Env() as env:
        on_broker(env)
        every_kind(env)
        message_api(env)
        codec_matches_json(env)
        lazy_values(env)
        objects(env)
        virtualenv(env)
        logging_to_host(env)
        refused(env)
        stateful(env)
    print("ok")


if __name__ == "__main__":
    main()
