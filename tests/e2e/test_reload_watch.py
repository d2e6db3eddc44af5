"""What the file watcher follows is the running generation's, made again by
each reload that applies. A host started on a pipeline with neither Python
nor a parser is reloaded (a file change) into one with a parser of a JSON
Schema and a Python map from a package: then an edit of the schema alone
is a reload that applies (the new schema decides what goes to the DLQ), and
so is an edit of the package's module. A schema added for a Python pipeline
file's parser that had none is a reload too. A host run through a link to
its release (`current -> releases/1`) follows a deploy's flip of the link."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PLAIN = """source: {name: in, stream_name: rw-in}
steps:
  - {kind: sink, name: out, stream_name: rw-out}
"""
CHECKED = """source: {name: in, stream_name: rw-in}
steps:
  - {kind: parser, name: parse, schema: schemas/rw-in.schema.json}
  - {kind: map, name: tag, python: lib.tags.tag}
  - {kind: serializer, name: ser}
  - {kind: sink, name: out, stream_name: rw-out}
"""
TAGS = 'def tag(msg):\n    return {**msg.payload, "v": %d}\n'


def schema(required):
    return json.dumps({"type": "object", "required": [required]})


class Stream:
    """Records sent one batch at a time; what became of them."""

    def __init__(self, bootstrap):
        self.bootstrap, self.sent = bootstrap, 0

    def send(self, values):
        h.produce(self.bootstrap, "rw-in", [(None, v, []) for v in values])
        self.sent += len(values)
        h.wait_for(lambda: self.outcomes() == self.sent, 60, f"{self.sent} records handled")

    def outcomes(self):
        return len(self.outputs()) + len(self.dead())

    def outputs(self):
        return [r.value for r in h.read_all(self.bootstrap, h.partitions("rw-out", 1))]

    def dead(self):
        return [r.value for r in h.read_all(self.bootstrap, h.partitions("rw-dlq", 1))]


PYTHON_PIPELINE = """from sentry_streams.pipeline.pipeline import (Parser, Serializer, StreamSink,
                                              streaming_source)

pipeline = streaming_source(name="in", stream_name="rv-in")
pipeline.apply(Parser("parse")).apply(Serializer("ser")).sink(StreamSink("out", stream_name="rv-out"))
"""


def schema_added_later(env, bootstrap):
    """A Python pipeline file's parser without a schema (it warns and parses
    without validating): a schema added to schemas/ is a reload, and
    validates from then on."""
    pipeline = env.write("py/pipeline.py", PYTHON_PIPELINE)
    config = env.write("py/d.yaml", h.deployment(source_extra="dlq: {topic: rv-dlq}"))
    host = env.start_host(pipeline, config, bootstrap, name="python",
                          extra=["--admin-port", "0"])
    port = h.admin_port(env, host)
    assert "no JSON Schema for stream 'rv-in'" in env.log(host), env.log(host)
    env.write("py/schemas/rv-in.schema.json", schema("a"))
    last = h.wait_generation(port, 2)["last_reload"]
    # The directory's making is the change, or the file's if watched by then.
    assert last["outcome"] == "applied" and "schema" in last["trigger"], last
    assert last["changes"] == ["step 'parse': settings"], last
    h.produce(bootstrap, "rv-in", [(None, b'{"a": 1}', []), (None, b'{"b": 1}', [])])
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("rv-in", 1))
    assert [r.value for r in h.read_all(bootstrap, h.partitions("rv-out", 1))] == \
        [b'{"a": 1}'], env.log(host)
    assert [r.value for r in h.read_all(bootstrap, h.partitions("rv-dlq", 1))] == \
        [b'{"b": 1}'], env.log(host)
    assert env.stop(host) == 0, env.log(host)


RELEASE = """source: {name: in, stream_name: rf-in}
steps:%s
  - {kind: sink, name: out, stream_name: rf-out}
"""


def release_flipped(env, bootstrap):
    """A host run through a link to its release (`current -> releases/1`),
    as a deploy that flips the link runs it: the flip is a reload into the
    new release's files, which are watched from then on."""
    for n, steps in (("1", ""), ("2", "\n  - {kind: map, name: up, plugin: testkit, "
                                      "function: upper}")):
        env.write(f"releases/{n}/p.yaml", RELEASE % steps)
        env.write(f"releases/{n}/d.yaml", h.deployment())
    os.symlink("releases/1", env.path("current"))
    host = env.start_host(env.path("current/p.yaml"), env.path("current/d.yaml"), bootstrap,
                          plugins_dir=h.TEST_PLUGINS_DIR, name="flipped",
                          extra=["--admin-port", "0"])
    port = h.admin_port(env, host)

    def outputs():
        return [r.value for r in h.read_all(bootstrap, h.partitions("rf-out", 1))]
    h.produce(bootstrap, "rf-in", [(None, b"a", [])])
    h.wait_for(lambda: outputs() == [b"a"], 60, "the first release's output")
    os.symlink("releases/2", env.path("current.new"))
    os.replace(env.path("current.new"), env.path("current"))
    last = h.wait_generation(port, 2)["last_reload"]
    assert last["outcome"] == "applied" and "p.yaml" in last["trigger"], last
    h.produce(bootstrap, "rf-in", [(None, b"b", [])])
    h.wait_for(lambda: outputs() == [b"a", b"B"], 60, "the second release's output")
    env.write("releases/2/p.yaml", RELEASE % "")  # edited where the link now leads
    assert h.wait_generation(port, 3)["last_reload"]["outcome"] == "applied"
    h.produce(bootstrap, "rf-in", [(None, b"c", [])])
    h.wait_for(lambda: outputs() == [b"a", b"B", b"c"], 60, "the edited release's output")
    assert env.stop(host) == 0, env.log(host)


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["rw-in:1", "rw-out:1", "rw-dlq:1", "rv-in:1", "rv-out:1",
                                      "rv-dlq:1", "rf-in:1", "rf-out:1"])
        schema_added_later(env, bootstrap)
        release_flipped(env, bootstrap)
        pipeline = env.write("p.yaml", PLAIN)
        config = env.write("d.yaml", h.deployment(source_extra="dlq: {topic: rw-dlq}"))
        host = env.start_host(pipeline, config, bootstrap, extra=["--admin-port", "0"])
        port = h.admin_port(env, host)
        stream = Stream(bootstrap)
        stream.send([b"plain"])

        # Into a pipeline that reads files the first did not.
        env.write("schemas/rw-in.schema.json", schema("a"))
        env.write("lib/__init__.py", "")
        env.write("lib/tags.py", TAGS % 1)
        env.write("p.yaml", CHECKED)
        assert h.wait_generation(port, 2)["last_reload"]["outcome"] == "applied"
        # The log says what is watched, at the start and after the reload.
        lines = h.wait_for(lambda: [line for line in env.log(host).splitlines()
                                    if "reloads on a change of" in line][1:] and
                           env.log(host).splitlines(), 10, "the watch to be renewed")
        said = [line for line in lines if "reloads on a change of" in line]
        assert f"p.yaml, {config}, " in said[0] and said[0].endswith("/*.so"), said
        assert "(the new generation's files): " in said[1], said
        assert said[1].endswith("/*.so, " + env.path("**/*.py") + ", " +
                                env.path("schemas/rw-in.schema.json")), said
        watching = h.host_status(port)["watching"]  # and GET /status
        assert watching[-2:] == [env.path("**/*.py"), env.path("schemas/rw-in.schema.json")], \
            watching
        stream.send([b'{"a": 1}', b'{"b": 1}'])
        assert stream.outputs()[1:] == [b'{"a": 1, "v": 1}'], stream.outputs()
        assert stream.dead() == [b'{"b": 1}'], stream.dead()

        # The schema alone: applied, and it decides.
        env.write("schemas/rw-in.schema.json", schema("b"))
        last = h.wait_generation(port, 3)["last_reload"]
        assert last["outcome"] == "applied" and "rw-in.schema.json" in last["trigger"], last
        assert last["changes"] == ["step 'parse': settings"], last
        stream.send([b'{"a": 2}', b'{"b": 2}'])
        assert stream.outputs()[2:] == [b'{"b": 2, "v": 1}'], stream.outputs()
        assert stream.dead()[1:] == [b'{"a": 2}'], stream.dead()

        # The module in its package.
        env.write("lib/tags.py", TAGS % 2)
        last = h.wait_generation(port, 4)["last_reload"]
        assert last["outcome"] == "applied" and "lib/tags.py" in last["trigger"], last
        stream.send([b'{"b": 3}'])
        assert stream.outputs()[3:] == [b'{"b": 3, "v": 2}'], stream.outputs()
        assert env.stop(host) == 0, env.log(host)
    print("ok: a reload's new files are watched")


if __name__ == "__main__":
    main()
