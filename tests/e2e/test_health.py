"""GET /readyz and /livez tell the truth about progress: not ready before
the partitions are assigned, ready while processing; a plugin that blocks
(on demand, while a file exists) makes /livez fail, with every thread's
state in the log, and /readyz fail; both recover once it returns, and the
healthcheck file is touched only while the loop turns. Not ready for
--not-ready-error-ms in a row is one ERROR line, its end one more. (The log
metrics exporter runs here too.)"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: hl-in}
steps:
  - {kind: map, name: block, plugin: testkit, function: block_while_file, config: {path: %s}}
  - {kind: sink, name: out, stream_name: hl-out}
"""


def outputs(bootstrap):
    return sum(h.end_offsets(bootstrap, h.partitions("hl-out", 1)).values())


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["hl-in:1", "hl-out:1"])
        block = env.path("block")
        touched = env.path("healthy")
        host = env.start_host(
            env.write("p.yaml", PIPELINE % block),
            env.write("d.yaml", "metrics: {type: log, period_sec: 0.2}\n" +
                      h.deployment(source_extra="commit_interval_ms: 100")),
            bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
            extra=["--admin-port", "0", "--liveness-timeout-ms", "1000",
                   "--readiness-commit-age-ms", "1500", "--not-ready-error-ms", "2000",
                   "--healthcheck-file", touched])
        port = h.admin_port(env, host)
        # The group join takes seconds on the dev broker: not ready meanwhile.
        status, body = h.probe(port, "/readyz")
        assert status == 503 and body["reason"] in ("starting", "joining the group"), body
        assert h.probe(port, "/livez")[0] == 200

        h.produce(bootstrap, "hl-in", [(None, b"one", [])])
        h.wait_for(lambda: outputs(bootstrap) == 1, 60, "the first output")
        h.wait_for(lambda: h.probe(port, "/readyz")[0] == 200, 30, "ready while processing")
        h.wait_for(lambda: os.path.exists(touched), 10, "the healthcheck file")
        # The log exporter (metrics: {type: log}) reports every 0.2 s.
        h.wait_for(lambda: "metrics: consumed_total=1 " in env.log(host), 10, "a metrics line")

        open(block, "w").close()  # the next record blocks the processing thread
        h.produce(bootstrap, "hl-in", [(None, b"two", [])])
        status, body = h.wait_for(lambda: (lambda a: a[0] == 503 and a)(h.probe(port, "/livez")),
                                  30, "/livez to fail")
        assert "processing loop has not turned" in body["reason"], body
        status, body = h.probe(port, "/readyz")
        assert status == 503 and "processing loop" in body["reason"], body
        log = env.log(host)
        assert ("liveness_timeout_ms 1000); it is in step 'block' (plugin testkit 2.3.4) at "
                "hl-in[0]@") in log, log
        assert "; threads:" in log and "thread " in log, log
        stalled_at = os.stat(touched).st_mtime
        h.wait_for(lambda: h.probe(port, "/livez")[0] == 503 and os.stat(touched).st_mtime ==
                   stalled_at and (time.time() - stalled_at) > 1.5, 30,
                   "the healthcheck file to stay untouched while stalled")

        # Not ready for --not-ready-error-ms in a row: one ERROR line says why.
        h.wait_for(lambda: re.search(r"ERROR.*not ready for [0-9]+ s: the processing loop has "
                                     r"not turned", env.log(host)), 30, "the lasting failure")
        # ... and the gauges say so, for alerts that read metrics.
        h.wait_for(lambda: h.gauge(port, "streams_ready") == 0 and
                   h.gauge(port, "streams_not_ready_seconds") >= 2, 10, "the health gauges")

        os.remove(block)
        h.wait_for(lambda: outputs(bootstrap) == 2, 60, "the blocked record's output")
        h.wait_for(lambda: h.probe(port, "/livez")[0] == 200, 30, "/livez to recover")
        h.wait_for(lambda: h.probe(port, "/readyz")[0] == 200, 30, "/readyz to recover")
        h.wait_for(lambda: os.stat(touched).st_mtime > stalled_at, 10, "the healthcheck file")
        h.wait_for(lambda: re.search(r"ready again after [0-9]+ s not ready \(last: the processing "
                                     r"loop",
                                     env.log(host)), 10, "the failure's end")
        assert len(re.findall(r"not ready for [0-9]+ s: the processing", env.log(host))) == 1
        h.wait_for(lambda: h.gauge(port, "streams_ready") == 1 and
                   h.gauge(port, "streams_not_ready_seconds") == 0, 10, "the gauges to recover")
        assert env.stop(host) == 0, env.log(host)
    print("ok")


if __name__ == "__main__":
    main()
