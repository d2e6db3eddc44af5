"""--log-format json: every line the host writes is a JSON object with its
time, level, pipeline and message; a failed record's line carries its step,
error kind, topic, partition and offset. A burst of bad messages does not
flood the log: at most ten lines a second, and the next line says how many
were suppressed."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

BURST = 2000


def lines(env, host):
    out = []
    for text in env.log(host).splitlines():
        record = json.loads(text)  # fails the test on any line that is not JSON
        assert {"time", "level", "message"} <= record.keys(), record
        out.append(record)
    return out


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["ingest-metrics:1", "transformed-events:1"])
        host = env.start_host(os.path.join(h.EXAMPLE_DIR, "pipeline.yaml"),
                              os.path.join(h.EXAMPLE_DIR, "deployment.yaml"), bootstrap,
                              extra=["--log-format", "json"])
        inputs = h.partitions("ingest-metrics", 1)
        h.produce(bootstrap, "ingest-metrics", [(None, b"{bad %d" % i, []) for i in range(BURST)])
        h.wait_committed_to_end(bootstrap, "pipeline-myinput", inputs)
        h.produce(bootstrap, "ingest-metrics", [(None, b"{one more", [])])
        h.wait_committed_to_end(bootstrap, "pipeline-myinput", inputs)
        h.wait_for(lambda: any("similar suppressed" in r["message"] for r in lines(env, host)),
                   30, "the line after the burst")
        assert env.stop(host) == 0, env.log(host)

        records = lines(env, host)
        assert all(r.get("pipeline") == "simple_map_filter" for r in records), records[:3]
        skipped = [r for r in records if r["message"].startswith("skipped ")]
        assert 2 <= len(skipped) <= 40, len(skipped)  # 10 a second, not 2001
        first = skipped[0]
        assert first["level"] == "warn", first
        assert first["step"] == "filter" and first["error"] == "invalid_input", first
        assert first["topic"] == "ingest-metrics" and first["partition"] == "0", first
        assert first["offset"] == "0", first
        suppressed = sum(int(m.group(1)) for r in skipped
                         for m in [re.search(r"\((\d+) similar suppressed\)", r["message"])] if m)
        assert suppressed + len(skipped) == BURST + 1, (suppressed, len(skipped))
        assert any("skipped " + str(BURST + 1) in r["message"] for r in records), records[-2:]
    print("ok")


if __name__ == "__main__":
    main()
