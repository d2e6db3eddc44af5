"""`streams-host dev-broker --brokers 3` serves a real cluster on fixed
ports that an independent client uses: metadata, produce, consume. A topic
Kafka would refuse is refused, naming the rule."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402


def main():
    with h.Env() as env:
        for attempt in range(5):
            port = h.free_port()
            proc = env.spawn([h.HOST, "dev-broker", "--port", str(port), "--brokers", "3",
                              "--topic", "events:6", "--topic", "other"], f"broker{attempt}")

            def line():
                with open(env.path(f"broker{attempt}.out")) as f:
                    return proc.poll() is not None or f.readline().strip()

            got = h.wait_for(line, 20, "the bootstrap line")
            if got is not True:
                break
            assert proc.returncode == 2, env.log(proc)  # a port was taken; retry
        expected = ",".join(f"127.0.0.1:{port + i}" for i in range(3))
        assert got == "bootstrap=" + expected, got

        consumer = h.KafkaConsumer(bootstrap_servers=f"127.0.0.1:{port + 2}")
        try:
            assert consumer.partitions_for_topic("events") == set(range(6))
            assert consumer.partitions_for_topic("other") == set(range(4))  # the default
            brokers = consumer._client.cluster.brokers()
            assert sorted(b.port for b in brokers) == [port, port + 1, port + 2], brokers
        finally:
            consumer.close()

        h.produce(expected, "events", [(b"k%d" % i, b"v%d" % i, [("h", b"x")]) for i in range(20)])
        records = h.read_all(expected, h.partitions("events", 6))
        assert sorted(r.value for r in records) == sorted(b"v%d" % i for i in range(20))
        assert all(r.headers == [("h", b"x")] for r in records)
        assert env.stop(proc) == 0, env.log(proc)
    result = h.run_cli(["dev-broker", "--port", str(h.free_port()), "--topic", "in/put:2"])
    assert result.returncode == 2, result
    assert "--topic in/put:2: 'in/put' is not a valid Kafka topic name (1 to 249 of letters, " \
        "digits, '.', '_' and '-', not '.' or '..')" in result.stderr, result.stderr
    print("2 passed, 0 failed")


if __name__ == "__main__":
    main()
