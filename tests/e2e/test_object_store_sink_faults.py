"""The object store sink under faults (stores.Drill): the host killed with
SIGKILL five times mid-stream, then the S3 server down for 30 s under load.
Every row arrives exactly once, in objects that neither repeat nor overlap;
nothing is committed before its object is uploaded; memory stays bounded
while the server is down; /readyz names the sink."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
import stores  # noqa: E402

PIPELINE = stores.STEPS + """  - {kind: sink, name: archive, plugin: object_store_sink, batch_size: 200, batch_time_ms: 100,
     retry_backoff_ms: 50, retry_backoff_max_ms: 500, config: {bucket: archive}}
"""

DEPLOYMENT = stores.deployment(source_extra="""          commit_interval_ms: 200
""", sinks="""        archive:
          max_in_flight_messages: 2000
          config: {endpoint: "${envvar:S3_ENDPOINT}", access_key: S3RVER, secret_key: S3RVER,
                   timeout_ms: 3000}
""")


def main():
    with h.Env() as env:
        s3 = stores.ObjectStore(env, "archive")
        os.environ["S3_ENDPOINT"] = s3.endpoint
        drill = stores.Drill(env, s3, env.write("p.yaml", PIPELINE),
                             env.write("d.yaml", DEPLOYMENT), "metrics", 4, bound=32 << 20,
                             sinks=["archive"])
        total = drill.run()
        objects = s3.check_objects()
        rows = stores.numbers(s3.rows())
        assert len(rows) == total == len(set(rows)), (len(rows), total, len(set(rows)))
        print(f"ok: {total} rows exactly once in {objects} objects")


if __name__ == "__main__":
    main()
