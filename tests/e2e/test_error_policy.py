"""error_policy without a DLQ: `fail` (the default) stops the host at the
first bad record without committing past it; `skip-and-count` goes on."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: numbers}
steps:
  - {kind: parser, name: parse, format: json}
  - {kind: sink, name: out, stream_name: parsed}
"""


def outputs(bootstrap):
    return [r.value.decode() for r in h.read_all(bootstrap, h.partitions("parsed", 1))]


def committed(bootstrap):
    return h.committed_offsets(bootstrap, "pipeline-in", h.partitions("numbers", 1))[0]


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["numbers:1", "parsed:1"])
        pipeline = env.write("p.yaml", PIPELINE)
        h.produce(bootstrap, "numbers", [(None, v, []) for v in (b"1", b"2", b"{bad", b"4")])

        host = env.start_host(pipeline, env.write("fail.yaml", h.deployment()), bootstrap)
        status = h.wait_for(lambda: host.poll() is not None and (host.returncode,), 60,
                            "the host to stop at the bad record")[0]
        assert status == 1, (status, env.log(host))
        log = env.log(host)
        assert "record error at numbers[0]@2: step 'parse' invalid_input: not valid JSON" in log, log
        assert "error_policy is fail" in log, log
        assert outputs(bootstrap) == ["1", "2"], outputs(bootstrap)
        assert committed(bootstrap) <= 2, committed(bootstrap)

        skip = env.write("skip.yaml", h.deployment(source_extra="error_policy: skip-and-count"))
        host = env.start_host(pipeline, skip, bootstrap, name="host2")
        h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("numbers", 1))
        assert outputs(bootstrap)[-1] == "4", outputs(bootstrap)
        assert env.stop(host) == 0, env.log(host)
        assert "stopped: consumed" in env.log(host) and "skipped 1" in env.log(host), env.log(host)
    print("ok")


if __name__ == "__main__":
    main()
