"""metrics: {type: datadog}: the example pipeline's metrics arrive as
DogStatsD datagrams on a local UDP port, with the configured tags and the
metric labels as tags; the counters add up to what was produced, filtered
and written; a histogram's observations arrive as distribution values
weighed by their count. With `names: both`, Sentry Streams' names come too
(its dashboards keep working) and say the same."""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

DEPLOYMENT = """metrics: {type: datadog, host: 127.0.0.1, port: %d, period_sec: 0.2,
          tags: {env: test, team: streams}, names: both}
pipeline:
  segments:
    - steps_config:
        myinput:
          bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]
          auto_offset_reset: earliest
          error_policy: skip-and-count
          override_params: {session.timeout.ms: "6000"}
        mysink: {bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]}
"""


class Receiver:
    """Sums DogStatsD counters, keeps the last gauge values, every
    histogram value and every distribution (value, weight) by (name, sorted
    tags)."""

    def __init__(self, sock):
        self.sock, self.counters, self.gauges, self.histograms = sock, {}, {}, {}
        self.distributions = {}

    def drain(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return
            for line in data.decode().split("\n"):
                parts = line.split("|")
                name_value, kind, tags = parts[0], parts[1], parts[-1]
                weight = 1
                if len(parts) == 4:
                    assert parts[2].startswith("@") and kind == "d", line
                    weight = round(1 / float(parts[2][1:]))
                name, value = name_value.split(":")
                assert tags.startswith("#"), line
                key = (name, tuple(sorted(tags[1:].split(","))))
                if kind == "c":
                    self.counters[key] = self.counters.get(key, 0) + float(value)
                elif kind == "h":
                    self.histograms.setdefault(key, []).append(float(value))
                elif kind == "d":
                    self.distributions.setdefault(key, []).append((float(value), weight))
                else:
                    assert kind == "g", line
                    self.gauges[key] = float(value)

    def total(self, name, **tags):
        want = {f"{k}:{v}" for k, v in tags.items()}
        return sum(v for (n, ts), v in self.counters.items() if n == name and want <= set(ts))


def main():
    with h.Env() as env, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        receiver = Receiver(sock)
        bootstrap = env.start_broker(["ingest-metrics:1", "transformed-events:1"])
        config = env.write("d.yaml", DEPLOYMENT % sock.getsockname()[1])
        host = env.start_host(os.path.join(h.EXAMPLE_DIR, "pipeline.yaml"), config, bootstrap)
        with open(os.path.join(h.EXAMPLE_DIR, "input.jsonl"), "rb") as f:
            lines = [line.rstrip(b"\n") for line in f if line.strip()]
        h.produce(bootstrap, "ingest-metrics", [(None, v, []) for v in lines * 11])

        def timed():  # one input in 64 is timed: the 64th, one distribution value
            return [vw for (n, ts), vws in receiver.distributions.items()
                    if n == "streams.process_seconds" and "env:test" in ts for vw in vws]

        def counted():
            receiver.drain()
            return receiver.total("streams.delivered") == 22 and timed()
        h.wait_for(counted, 60, "22 deliveries and a timed input over DogStatsD")
        assert receiver.total("streams.consumed") == 66, receiver.counters
        assert receiver.total("streams.step_records_in", step="filter") == 66
        assert receiver.total("streams.step_records_out", step="filter") == 22
        assert receiver.total("streams.step_errors", step="filter", error="invalid_input") == 22
        assert receiver.total("streams.step_records_in", step="mysink", kind="sink") == 22
        assert receiver.total("streams.skipped") == 22
        assert sum(w for _, w in timed()) == 1, receiver.distributions
        assert all(0 < v < 1 for v, _ in timed()), timed()
        every = [set(ts) for (_, ts) in list(receiver.counters) + list(receiver.gauges)]
        assert all({"env:test", "team:streams", "pipeline:simple_map_filter"} <= t for t in every)
        gauges = {n for (n, _) in receiver.gauges}
        assert {"streams.assigned_partitions", "streams.generation"} <= gauges, gauges
        # The original's names for the same counts, its errors' kind as error_type.
        assert receiver.total("streams.pipeline.input.messages", step="filter") == 66
        assert receiver.total("streams.pipeline.output.messages", step="filter") == 22
        assert receiver.total("streams.pipeline.errors", step="filter",
                              error_type="invalid_input") == 22
        # Its consumer.latency_sec: a value each period a commit went through.
        def latency():
            receiver.drain()
            return [v for (n, ts), vs in receiver.histograms.items()
                    if n == "streams.pipeline.consumer.latency_sec"
                    and {"topic:ingest-metrics", "consumer_group:pipeline-myinput"} <= set(ts)
                    for v in vs]
        values = h.wait_for(latency, 30, "the original's consumer.latency_sec")
        assert all(0 <= v < 60 for v in values), values
        assert "(streams and original names)" in env.log(host), env.log(host)
        assert env.stop(host) == 0, env.log(host)
    print("ok")


if __name__ == "__main__":
    main()
