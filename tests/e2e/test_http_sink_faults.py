"""The HTTP sink under faults (stores.Drill): the host killed with SIGKILL
five times mid-stream, then the HTTP server down for 30 s under load. Every
row arrives, nothing is committed before its row is stored, memory stays
bounded while the server is down."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
import stores  # noqa: E402

PIPELINE = stores.STEPS + """  - {kind: sink, name: rows, plugin: http_sink, batch_size: 100, batch_time_ms: 50,
     retry_backoff_ms: 50, retry_backoff_max_ms: 500}
"""

DEPLOYMENT = stores.deployment(source_extra="""          commit_interval_ms: 200
""", sinks="""        rows:
          max_in_flight_messages: 2000
          config: {url: "${envvar:SINK_URL}", timeout_ms: 2000}
""")


def main():
    with h.Env() as env:
        out = env.path("received.ndjson")
        receiver = stores.HttpReceiver(env, out)
        os.environ["SINK_URL"] = f"http://127.0.0.1:{receiver.port}/ingest"
        receiver.rows = lambda: stores.rows(out)
        drill = stores.Drill(env, receiver, env.write("p.yaml", PIPELINE),
                             env.write("d.yaml", DEPLOYMENT), "metrics", 4, bound=32 << 20,
                             sinks=["rows"])
        drill.run()
        print("ok")


if __name__ == "__main__":
    main()
