"""Reloads that must be refused (a plugin built for another ABI, one whose
init fails, a missing plugin, an invalid pipeline file) leave the running
generation processing; each refusal names its reason in `streams-host
reload` (exit status 1) and in GET /status. A change of a step's config
alone takes effect without a restart, by SIGHUP; a change of a sink restarts
the consumer (one rebalance), and nothing is output twice."""
import json
import os
import shutil
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: rr-in}
steps:
  - {kind: map, name: stamp, plugin: stamp, function: stamp%s}
  - {kind: sink, name: out, stream_name: %s}
"""


class Stream:
    """Numbers produced one batch at a time, and the outputs they became."""

    def __init__(self, bootstrap):
        self.bootstrap, self.next, self.topic = bootstrap, 0, "rr-out"

    def send_and_read(self, count):
        first = self.next
        h.produce(self.bootstrap, "rr-in", [(None, b"n%d" % i, []) for i in
                                            range(first, first + count)])
        self.next += count
        wanted = {b"n%d" % i for i in range(first, first + count)}

        def outputs():
            found = {}
            for r in h.read_all(self.bootstrap, h.partitions(self.topic, 1)):
                number, rest = r.value.split(b" ", 1)
                if number in wanted:
                    found[number] = rest
            return len(found) == count and found
        return h.wait_for(outputs, 60, f"outputs of n{first}..").values()


def reload(port, env, host, reason):
    result = h.run_cli(["reload", "--admin-port", str(port)])
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert reason in result.stdout, (reason, result.stdout)
    status = h.host_status(port)
    assert status["generation"] == 2, status
    assert status["last_reload"]["outcome"] == "refused", status
    assert reason in status["last_reload"]["error"], status
    assert host.poll() is None, env.log(host)


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["rr-in:1", "rr-out:1", "rr-out2:1"])
        plugins = env.path("plugins")
        os.mkdir(plugins)
        stamp = os.path.join(plugins, "stamp.so")
        shutil.copyfile(os.path.join(h.TEST_PLUGINS_DIR, "stamp_v1.so"), stamp)
        pipeline = env.write("p.yaml", PIPELINE % ("", "rr-out"))
        host = env.start_host(pipeline, env.write("d.yaml", h.deployment()), bootstrap,
                              plugins_dir=plugins, extra=["--admin-port", "0", "--no-watch"])
        port = h.admin_port(env, host)
        stream = Stream(bootstrap)
        assert set(stream.send_and_read(5)) == {b"1.0.0 0@%d {}" % i for i in range(5)}

        # A step's config alone changes, by SIGHUP: same plugin, same instance count.
        env.write("p.yaml", PIPELINE % (", config: {tag: t2}", "rr-out"))
        host.send_signal(signal.SIGHUP)
        status = h.wait_generation(port, 2)
        assert status["last_reload"]["outcome"] == "applied", status
        assert status["last_reload"]["trigger"] == "SIGHUP", status
        changes = status["last_reload"]["changes"]
        assert changes == ['step \'stamp\': config {"tag":"t2"}'], changes
        outputs = set(stream.send_and_read(3))
        assert outputs == {b'1.0.0 0@%d {"tag":"t2"}' % i for i in range(5, 8)}, outputs

        shutil.copyfile(os.path.join(h.TEST_PLUGINS_DIR, "abi_v2.so"), stamp)
        reload(port, env, host, "built for plugin ABI v2")
        os.remove(stamp)
        reload(port, env, host, "plugin 'stamp' not found")
        shutil.copyfile(os.path.join(h.TEST_PLUGINS_DIR, "stamp_v2.so"), stamp)
        env.write("p.yaml", PIPELINE % (", config: {fail_init: true}", "rr-out"))
        reload(port, env, host, "stamp refuses to start: fail_init is set")
        env.write("p.yaml", "source: {name: in\n")
        reload(port, env, host, "p.yaml:")
        # Every refusal left generation 2 running, and it still processes.
        outputs = set(stream.send_and_read(3))
        assert outputs == {b'1.0.0 0@%d {"tag":"t2"}' % i for i in range(8, 11)}, outputs
        status = h.host_status(port)
        assert status["reloads"] == {"applied": 1, "unchanged": 0, "refused": 4}, status
        assert status["steps"][0]["version"] == "1.0.0", status
        assert env.log(host).count(" assigned rr-in[") == 1, env.log(host)

        # A new sink topic: the consumer drains, commits, and rejoins with it.
        env.write("p.yaml", PIPELINE % (", config: {tag: t3}", "rr-out2"))
        result = h.run_cli(["reload", "--admin-port", str(port)])
        assert result.returncode == 0, (result.stdout, result.stderr)
        outcome = json.loads(result.stdout)
        assert outcome["outcome"] == "applied" and outcome["restarted_consumer"], outcome
        assert outcome["changes"][0] == "sink 'out' changed", outcome
        stream.topic = "rr-out2"
        outputs = set(stream.send_and_read(3))
        assert outputs == {b'2.0.0 0@%d {"tag":"t3"}' % i for i in range(11, 14)}, outputs
        again = h.read_all(bootstrap, h.partitions("rr-out2", 1))
        assert len(again) == 3, [r.value for r in again]  # nothing before the switch again
        assert env.log(host).count(" assigned rr-in[") == 2, env.log(host)
        assert env.stop(host) == 0, env.log(host)
    print("ok")


if __name__ == "__main__":
    main()
