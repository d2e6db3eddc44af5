"""GET /metrics during the simple_map_filter example: the Prometheus counters
agree with what was produced, filtered, failed and written, scraped while
the pipeline runs (and again after more input), parsed by an independent
reader of the text format; `streams-host top` shows the same steps."""
import json
import os
import re
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

ROUNDS = 20  # copies of the example's six input lines (two counters, two malformed)


def scrape(port):
    """{(name, frozenset(labels)): value} from the text format."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        assert r.headers["Content-Type"].startswith("text/plain"), r.headers
        text = r.read().decode()
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        assert m, line
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def value(samples, name, **labels):
    want = set(labels.items()) | {("pipeline", "simple_map_filter")}
    found = [v for (n, ls), v in samples.items() if n == name and want <= ls]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def produce_rounds(bootstrap, rounds):
    with open(os.path.join(h.EXAMPLE_DIR, "input.jsonl"), "rb") as f:
        lines = [line.rstrip(b"\n") for line in f if line.strip()]
    h.produce(bootstrap, "ingest-metrics", [(None, v, []) for v in lines * rounds])
    return len(lines) * rounds


def check(port, bootstrap, inputs):
    counters = inputs // 3  # a third of the example's lines are counters
    malformed = inputs // 3
    outputs = h.partitions("transformed-events", 1)
    h.wait_for(lambda: sum(h.end_offsets(bootstrap, outputs).values()) >= counters, 60,
               f"{counters} outputs")
    s = h.wait_for(lambda: (lambda s: value(s, "streams_delivered_total") >= counters and s)(
        scrape(port)), 30, "the deliveries counted")
    assert value(s, "streams_consumed_total") == inputs
    assert value(s, "streams_step_records_in_total", step="filter") == inputs
    assert value(s, "streams_step_errors_total", step="filter", error="invalid_input") == malformed
    assert value(s, "streams_step_records_out_total", step="filter") == counters
    assert value(s, "streams_step_records_in_total", step="transform") == counters
    assert value(s, "streams_step_records_out_total", step="mysink") == counters
    assert value(s, "streams_skipped_total") == malformed
    assert value(s, "streams_produced_total") == counters
    assert value(s, "streams_delivered_total") == counters
    assert value(s, "streams_assigned_partitions") == 2
    assert value(s, "streams_process_seconds_count") == inputs // 64  # one input in 64 is timed
    assert value(s, "streams_process_seconds_bucket", le="+Inf") == inputs // 64
    return s


def check_partitions(port, bootstrap):
    """/status and `top` name each assigned partition: where it is, what is
    committed, its lag (once caught up: position = committed = end)."""
    ends = h.end_offsets(bootstrap, h.partitions("ingest-metrics", 2))

    def settled():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=30) as r:
            parts = json.loads(r.read())["partitions"]
        want = [{"partition": p, "thread": 1, "position": ends[p], "committed": ends[p],
                 "in_flight": 0, "paused": False, "restoring": False, "drained": False,
                 "lag": 0}
                for p in (0, 1)]
        return parts == want and parts
    h.wait_for(settled, 30, "both partitions in /status, caught up")
    view = h.run_cli(["top", "--admin-port", str(port), "--frames", "1"])
    assert view.returncode == 0, view.stderr
    rows = [line.split() for line in view.stdout.splitlines()]
    assert ["PARTITION", "THREAD", "POSITION", "COMMITTED", "LAG", "IN", "FLIGHT",
            "STATE"] in rows, view.stdout
    for p in (0, 1):
        assert [str(p), "1", str(ends[p]), str(ends[p]), "0", "0", "running"] in rows, view.stdout


def check_commit_latency(port, bootstrap):
    """How old the newest committed input was at the last commit, by record
    timestamp: an hour for records written an hour ago, then seconds once
    fresh ones are committed; `top` says it too."""
    with open(os.path.join(h.EXAMPLE_DIR, "input.jsonl"), "rb") as f:
        line = f.readline().rstrip(b"\n")
    hour_ago = int(time.time() * 1000) - 3600 * 1000
    h.produce(bootstrap, "ingest-metrics", [(None, line, [], hour_ago)] * 4)
    s = h.wait_for(lambda: (lambda s: value(s, "streams_commit_latency_seconds") >= 3600 and s)(
        scrape(port)), 30, "a commit latency of an hour")
    assert value(s, "streams_commit_latency_seconds") < 3600 + 60, s
    view = h.run_cli(["top", "--admin-port", str(port), "--frames", "1"])
    assert view.returncode == 0, view.stderr
    assert re.search(r"last commit [0-9.]+ s ago, 36[0-9][0-9]\.[0-9] s behind", view.stdout), \
        view.stdout
    h.produce(bootstrap, "ingest-metrics", [(None, line, [])] * 4)
    h.wait_for(lambda: value(scrape(port), "streams_commit_latency_seconds") < 60, 30,
               "a commit latency of seconds once fresh records are committed")


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["ingest-metrics:2", "transformed-events:1"])
        host = env.start_host(os.path.join(h.EXAMPLE_DIR, "pipeline.yaml"),
                              os.path.join(h.EXAMPLE_DIR, "deployment.yaml"), bootstrap,
                              extra=["--admin-port", "0"])
        port = h.admin_port(env, host)
        inputs = produce_rounds(bootstrap, ROUNDS)
        check(port, bootstrap, inputs)
        inputs += produce_rounds(bootstrap, ROUNDS)
        s = check(port, bootstrap, inputs)
        assert value(s, "streams_generation") == 1
        view = h.run_cli(["top", "--admin-port", str(port), "--frames", "2",
                          "--interval-ms", "300"])
        assert view.returncode == 0, view.stderr
        assert "pipeline simple_map_filter, generation 1" in view.stdout, view.stdout
        rows = {line.split()[0]: line.split() for line in view.stdout.splitlines()
                if line.split() and line.split()[0] in ("filter", "transform", "mysink")}
        assert rows["filter"][1] == "filter" and rows["filter"][4] == str(inputs // 3), rows
        assert rows["transform"][5] == "ingest_metrics", rows
        assert value(s, "streams_step_info", step="transform", plugin="ingest_metrics") == 1
        assert value(s, "streams_reloads_total", outcome="applied") == 0
        h.wait_committed_to_end(bootstrap, "pipeline-myinput", h.partitions("ingest-metrics", 2))
        # librdkafka's statistics (every 5 s): lag from the committed offsets, round trips.
        def caught_up():
            s = scrape(port)
            lags = [v for (n, _), v in s.items() if n == "streams_consumer_lag"]
            queues = [n for (n, _) in s if n == "streams_producer_queue_messages"]
            return len(lags) == 2 and not any(lags) and queues and s
        s = h.wait_for(caught_up, 30, "a consumer lag of 0 on both partitions, the sink's queue")
        rtts = [v for (n, ls), v in s.items() if n == "streams_broker_rtt_seconds"
                and ("client", "consumer") in ls and ("broker", "GroupCoordinator") not in ls]
        assert rtts and all(0 < v < 10 for v in rtts), rtts
        assert value(s, "streams_producer_queue_messages", client="sink transformed-events") == 0
        assert value(s, "streams_commit_age_seconds") >= 0
        assert value(s, "streams_commits_total") >= 1
        assert value(s, "streams_last_commit_timestamp_seconds") > 1.7e9
        assert value(s, "streams_in_flight_inputs") == 0
        check_partitions(port, bootstrap)
        check_commit_latency(port, bootstrap)
        assert env.stop(host) == 0, env.log(host)
    print("ok")


if __name__ == "__main__":
    main()
