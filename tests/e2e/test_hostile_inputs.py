"""Hostile records and configs, built here, against a running host with a
DLQ. Each once crashed or aborted the host, or wedged it:
- msgpack: a string holding byte 0xff; 100,000 nested arrays (100 KB);
- JSON 100,000 levels deep into a schema parser and a msgpack serializer;
- a record whose header block cannot be parsed (its count claims more
  headers than it holds), produced by kafka-python made to lie;
all end in the DLQ as record errors while good records pass. Written into
the running host's pipeline file: a Latin-1 byte in a step config, and a
YAML alias bomb; each reload is refused with the reason, the host runs on
and /livez keeps answering."""
import json
import os
import sys
import time
import urllib.request

import kafka.record.default_records as default_records

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: %(topic)s}
steps:
  - {kind: parser, name: parse, format: %(format)s%(schema)s}
  - {kind: map, name: pass, plugin: testkit, function: sleepy, config: {us: %(us)s}}
  - {kind: serializer, name: pack, format: msgpack}
  - {kind: sink, name: out, stream_name: %(topic)s-out}
"""


class _LyingHeaders(list):
    def __len__(self):
        return super().__len__() + 2


def lie_about_header_counts():
    """Records whose first header is named "lie" are written with a header
    count two more than the headers that follow."""
    append = default_records.DefaultRecordBatchBuilder.append

    def lying(self, offset, timestamp, key, value, headers, *args, **kwargs):
        if headers and headers[0][0] == "lie":
            headers = _LyingHeaders(headers[1:])
        return append(self, offset, timestamp, key, value, headers, *args, **kwargs)
    default_records.DefaultRecordBatchBuilder.append = lying


def pipeline_text(topic, fmt, us=0, schema=""):
    return PIPELINE % {"topic": topic, "format": fmt, "us": us, "schema": schema}


def run_until_committed(env, bootstrap, topic, fmt, records, schema="", name=None):
    pipeline = env.write(f"{topic}.yaml", pipeline_text(topic, fmt, schema=schema))
    config = env.write(f"{topic}-d.yaml",
                       h.deployment(source_extra=f"dlq: {{topic: {topic}-dlq}}"))
    h.produce(bootstrap, topic, records)
    host = env.start_host(pipeline, config, bootstrap, name=name or topic,
                          plugins_dir=h.TEST_PLUGINS_DIR, extra=["--admin-port", "0"])
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions(topic, 1))
    return host, pipeline


def dead_letters(bootstrap, topic):
    """The DLQ's error headers by the offset of the input that failed."""
    out = {}
    for r in h.read_all(bootstrap, h.partitions(f"{topic}-dlq", 1)):
        headers = {k: v.decode() for k, v in r.headers}
        out[int(headers["streams.error.offset"])] = headers
    return out


def livez(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=10) as r:
        return r.status


def refused_reload(env, host, port, pipeline, text, reason):
    with open(pipeline, "wb") as f:
        f.write(text)
    started = time.monotonic()
    result = h.run_cli(["reload", "--admin-port", str(port)])
    assert result.returncode == 1, (result.stdout, result.stderr, env.log(host))
    assert reason in json.loads(result.stdout)["error"], result.stdout
    assert time.monotonic() - started < 10, "the refusal took too long"
    assert livez(port) == 200
    assert host.poll() is None, env.log(host)


def alias_bomb():
    lines = ["      a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"      a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def main():
    lie_about_header_counts()
    with h.Env() as env:
        bootstrap = env.start_broker(["mp:1", "mp-out:1", "mp-dlq:1", "js:1", "js-out:1",
                                      "js-dlq:1"])
        good = b"\x81\xa1k\xa1v"  # {"k": "v"}
        host, pipeline = run_until_committed(env, bootstrap, "mp", "msgpack", [
            (None, good, []),
            (None, b"\xa1\xff", []),
            (None, b"\x91" * 100000 + b"\xc0", []),
            (None, good, [("lie", b""), ("h", b"v")]),
            (None, good, []),
        ])
        dead = dead_letters(bootstrap, "mp")
        assert sorted(dead) == [1, 2, 3], dead
        assert "not valid UTF-8" in dead[1]["streams.error.message"], dead[1]
        assert "nested deeper than 256 levels" in dead[2]["streams.error.message"], dead[2]
        assert "header block cannot be parsed" in dead[3]["streams.error.message"], dead[3]
        outputs = h.read_all(bootstrap, h.partitions("mp-out", 1))
        assert [r.value for r in outputs] == [good, good], outputs

        port = h.admin_port(env, host)
        refused_reload(env, host, port, pipeline,
                       pipeline_text("mp", "msgpack", us='"M\xfcnchen"').encode("latin-1"),
                       "steps[1].config.us: not valid UTF-8")
        bomb = pipeline_text("mp", "msgpack").replace(
            "  - {kind: map, name: pass, plugin: testkit, function: sleepy, config: {us: 0}}\n",
            "  - kind: map\n    name: pass\n    plugin: testkit\n    function: sleepy\n"
            "    config:\n" + alias_bomb()).encode()
        refused_reload(env, host, port, pipeline, bomb, "the document expands to more than")
        h.produce(bootstrap, "mp", [(None, good, [])])
        h.wait_for(lambda: len(h.read_all(bootstrap, h.partitions("mp-out", 1))) == 3, 60,
                   "a record after the refused reloads")
        assert env.stop(host) == 0, env.log(host)

        schema = env.write("any.json", '{"type": ["array", "object", "number"]}')
        host, _ = run_until_committed(env, bootstrap, "js", "json", [
            (None, b"[" * 100000 + b"]" * 100000, []),
            (None, b"[1,2]", []),
        ], schema=f", schema: {schema}")
        dead = dead_letters(bootstrap, "js")
        assert list(dead) == [0], dead
        assert "nested deeper than 256 levels" in dead[0]["streams.error.message"], dead
        assert [r.value for r in h.read_all(bootstrap, h.partitions("js-out", 1))] == \
            [b"\x92\x01\x02"]
        assert env.stop(host) == 0, env.log(host)
    print("ok")


if __name__ == "__main__":
    main()
