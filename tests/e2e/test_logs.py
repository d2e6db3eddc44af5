"""--log-format json: every line the host writes is a JSON object with its
time, level, pipeline and message; a failed record's line carries its step,
error kind, topic, partition and offset. A burst of bad messages does not
flood the log: at most ten lines a second, and the next line says how many
were suppressed. The start says which fetch wait the cluster's id chose.
`streams-host log-level` changes the level of the running host, for a
while: debug lines come, then the start's level again. A host whose log
goes to a pipe nobody reads any more (a log shipper gone) runs on."""
import json
import os
import re
import signal
import subprocess
import sys
import time

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


def suppressed_in(skipped):
    """What the "skipped" lines say was suppressed before them."""
    return sum(int(m.group(1)) for r in skipped
               for m in [re.search(r"\((\d+) similar suppressed\)", r["message"])] if m)


def check_live_level(env, host, bootstrap, inputs):
    port = h.admin_port(env, host)

    def level(*args):
        return h.run_cli(["log-level", "--admin-port", str(port), *args])

    shown = level()
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == {"level": "info", "initial": "info", "until_ms": None}
    assert not [r for r in lines(env, host) if r["level"] == "debug"]
    before = time.time() * 1000
    changed = level("debug", "--for", "3s")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    answer = json.loads(changed.stdout)
    assert answer["level"] == "debug" and answer["until_ms"] >= before + 3000, answer
    # A commit of one more input logs at debug (a good one: the bad ones
    # are counted above).
    with open(os.path.join(h.EXAMPLE_DIR, "input.jsonl"), "rb") as f:
        good = f.readline().strip()
    h.produce(bootstrap, "ingest-metrics", [(None, good, [])])
    h.wait_committed_to_end(bootstrap, "pipeline-myinput", inputs)
    h.wait_for(lambda: [r for r in lines(env, host) if r["level"] == "debug"], 30, "debug lines")
    h.wait_for(lambda: json.loads(level().stdout) == {"level": "info", "initial": "info",
                                                     "until_ms": None},
               30, "the start's level again after 3 s")
    messages = [r["message"] for r in lines(env, host)]
    assert any(re.match(r"log level debug \(was info, POST /log-level\) until 20\S+, then info$",
                        m) for m in messages), messages[-5:]
    assert any(m.startswith("log level back to info (was debug") for m in messages), messages[-5:]
    for args, why in ((["loud"], "expected debug, info, warn or error"),
                      (["debug", "--for", "soon"], "expected ?for=DURATION")):
        bad = level(*args)
        assert bad.returncode == 1 and why in bad.stdout, (args, bad.stdout, bad.stderr)
    assert json.loads(level().stdout)["level"] == "info"
    bad = level("--for", "3s")
    assert bad.returncode == 2 and "give the LEVEL" in bad.stderr, bad.stderr


def closed_log_pipe(env, bootstrap):
    """The host's stderr is a pipe whose reader closes after the first line:
    the lines after it fail to be written (EPIPE), the host does not die of
    SIGPIPE, and it processes and stops as ever."""
    env_vars = dict(os.environ, BOOTSTRAP_SERVERS=bootstrap, STREAMS_STATE_DIR=env.path("state"))
    host = subprocess.Popen(
        [h.HOST, "run", "--config", os.path.join(h.EXAMPLE_DIR, "deployment.yaml"),
         "--plugins-dir", h.PLUGINS_DIR, os.path.join(h.EXAMPLE_DIR, "pipeline.yaml")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env_vars, start_new_session=True)
    env.procs.append(host)
    assert host.stderr.readline(), "the host's first line"
    host.stderr.close()
    h.produce(bootstrap, "ingest-metrics", [(None, b"{bad %d" % i, []) for i in range(20)])
    inputs = h.partitions("ingest-metrics", 1)
    h.wait_for(lambda: host.poll() is not None or h.committed_offsets(
        bootstrap, "pipeline-myinput", inputs) == h.end_offsets(bootstrap, inputs), 60,
        "the bad messages committed (or the host gone)")
    assert host.poll() is None, host.returncode
    host.send_signal(signal.SIGTERM)
    status = h.wait_for(lambda: host.poll() is not None and (host.returncode,), 30,
                        "the host to exit after SIGTERM")[0]
    assert status == 0, status


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["ingest-metrics:1", "transformed-events:1"])
        host = env.start_host(os.path.join(h.EXAMPLE_DIR, "pipeline.yaml"),
                              os.path.join(h.EXAMPLE_DIR, "deployment.yaml"), bootstrap,
                              extra=["--log-format", "json", "--admin-port", "0"])
        inputs = h.partitions("ingest-metrics", 1)
        h.produce(bootstrap, "ingest-metrics", [(None, b"{bad %d" % i, []) for i in range(BURST)])
        h.wait_committed_to_end(bootstrap, "pipeline-myinput", inputs)
        # One more bad message at a time until one is logged in a later
        # second than those before it, saying how many were suppressed: then
        # every skipped message is accounted for, logged or counted.
        sent = BURST

        def accounted():
            nonlocal sent
            skipped = [r for r in lines(env, host) if r["message"].startswith("skipped ")]
            noted = [r for r in skipped if "similar suppressed" in r["message"]]
            if noted and suppressed_in(skipped) + len(skipped) == sent:
                return True
            h.produce(bootstrap, "ingest-metrics", [(None, b"{one more", [])])
            sent += 1
            h.wait_committed_to_end(bootstrap, "pipeline-myinput", inputs)
            return False

        h.wait_for(accounted, 30, "a logged line after the burst with what it suppressed")
        check_live_level(env, host, bootstrap, inputs)
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
        suppressed = suppressed_in(skipped)
        assert suppressed + len(skipped) == sent, (suppressed, len(skipped), sent)
        assert any("skipped " + str(sent) in r["message"] for r in records), records[-2:]
        # The host asked the cluster for its id and took the dev broker's
        # fetch wait (Kafka's would be 100 ms).
        assert any(re.search(r"source cluster mockCluster\w+ is the dev broker: "
                             r"fetch\.wait\.max\.ms 5 ", r["message"]) for r in records), \
            [r["message"] for r in records[:8]]
        closed_log_pipe(env, bootstrap)  # the same group, from where the host above left it
    print("ok")


if __name__ == "__main__":
    main()
