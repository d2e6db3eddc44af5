"""The original's gcs_sink example as a Python pipeline file: GCSSink runs as
object_store_sink against GCS's XML API, here an S3-compatible server
(s3rver) named by the deployment. Its output lands in objects named by the
source offsets they hold, row for row what the original's Serializer writes;
an object holds a batch (10 s by default), not a message; validate says where
GCSSink's objects go and that object_generator is not used, and without the
HMAC key it names the key that is missing. The deployment's bucket
(steps_config.mysink.bucket) overrides the file's, as in the original. Run again from the start (a new
consumer group) against the same objects, through a proxy that names their
metadata as GCS's XML API does (x-goog-meta-*), it finds every object whole
and writes, deletes or rewrites nothing; a 503 with Retry-After: 2 to its
first check holds that partition's next request back two seconds."""
import collections
import http.client
import http.server
import json
import os
import re
import shutil
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
import stores  # noqa: E402

PARTITIONS = 2

# The original's examples/gcs_sink.py; only the imports of its schema type
# (IngestMetric) and of its examples package are changed.
PIPELINE = '''from datetime import datetime

from transform_metrics import transform_msg

from sentry_streams.pipeline import Map, Parser, Serializer, streaming_source
from sentry_streams.pipeline.pipeline import GCSSink


def generate_files() -> str:
    now = datetime.now()
    cur_time = now.strftime("%H:%M:%S")

    return f"file_{cur_time}.txt"


# A pipline with a few transformations
pipeline = (
    streaming_source(
        name="myinput",
        stream_name="ingest-metrics",
    )
    .apply(
        Parser("myparser"),
    )
    .apply(Map(name="transform", function=transform_msg))
    .apply(Serializer("myserializer"))
    .sink(GCSSink(name="mysink", bucket="arroyo-artifacts", object_generator=generate_files))
)
'''

DEPLOYMENT = """pipeline:
  segments:
    - steps_config:
        myinput:
          starts_segment: True
          bootstrap_servers: ["${envvar:BOOTSTRAP_SERVERS}"]
          auto_offset_reset: earliest
          override_params: {session.timeout.ms: "6000"}
"""


class GcsAnswers:
    """A loopback proxy in front of `store` (s3rver) that answers as GCS's
    XML API names custom metadata: x-amz-meta-* comes back x-goog-meta-*.
    Requests go on unchanged (their Host header too, which the signature
    covers); `methods` counts them by method, `seen` lists (time, method,
    path decoded). The first HEAD gets 503 with Retry-After: 2 instead."""

    def __init__(self, store):
        self.methods = collections.Counter()
        self.seen = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                proxy.methods[self.command] += 1
                proxy.seen.append((time.monotonic(), self.command, urllib.parse.unquote(self.path)))
                if self.command == "HEAD" and proxy.methods["HEAD"] == 1:
                    self.send_response(503)
                    self.send_header("Retry-After", "2")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", store.port, timeout=30)
                upstream.request(self.command, self.path, body=body, headers=dict(self.headers))
                answer = upstream.getresponse()
                payload = answer.read()
                upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() in ("connection", "transfer-encoding", "keep-alive"):
                        continue
                    if name.lower().startswith("x-amz-meta-"):
                        name = "x-goog-meta-" + name[len("x-amz-meta-"):]
                    self.send_header(name, value)
                if answer.getheader("Content-Length") is None:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_HEAD = do_PUT = do_DELETE = do_POST = forward  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def main():
    with h.Env() as env:
        # The deployment names another bucket than the file, as the
        # original's GCSSink takes it (steps_config.mysink.bucket).
        s3 = stores.ObjectStore(env, "staging-artifacts")
        deployment = env.write("d.yaml", DEPLOYMENT + s3.sink_entry("mysink") +
                               "          bucket: staging-artifacts\n")
        bootstrap = env.start_broker([f"ingest-metrics:{PARTITIONS}"])
        shutil.copy(os.path.join(h.EXAMPLE_DIR, "transform_metrics.py"), env.dir)
        pipeline = env.write("gcs_sink.py", PIPELINE)
        cli_env = dict(os.environ, BOOTSTRAP_SERVERS=bootstrap)

        # Without the HMAC key: the file, the line and the key it needs.
        check = h.run_cli(["validate", "--config", env.write("bare.yaml", DEPLOYMENT),
                           "--plugins-dir", h.PLUGINS_DIR, pipeline], env=cli_env)
        assert check.returncode == 2, check.stdout + check.stderr
        assert f"{pipeline}:27: steps[3].config: sink 'mysink'" in check.stderr, check.stderr
        assert "config.access_key: required" in check.stderr, check.stderr
        assert "steps_config.mysink.config: access_key, secret_key" in check.stderr, check.stderr

        check = h.run_cli(["validate", "--config", deployment, "--plugins-dir", h.PLUGINS_DIR,
                           pipeline], env=cli_env)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "mysink (object_store_sink/s3, exactly-once)" in check.stdout, check.stdout
        assert "not by object_generator" in check.stderr, check.stderr

        inputs = stores.metric_inputs(1000)
        h.produce(bootstrap, "ingest-metrics", [(b"k%d" % i, v, []) for i, v in enumerate(inputs)])
        host = env.start_host(pipeline, deployment, bootstrap)
        tps = h.partitions("ingest-metrics", PARTITIONS)
        h.wait_committed_to_end(bootstrap, "pipeline-myinput", tps, timeout=120)
        assert env.stop(host) == 0, env.log(host)

        keys = s3.keys()
        assert keys and all(k.startswith("ingest-metrics/") and k.endswith(".ndjson")
                            for k in keys), keys
        objects = s3.check_objects()
        # GCSSink's batches (10,000 records, 10 s by default) hold each
        # partition's few hundred records in one object.
        assert objects == PARTITIONS, keys
        # Every record, transformed, as the original's Serializer writes it
        # (json.dumps, keys in order).
        wanted = sorted(json.dumps({**json.loads(v), "transformed": True}) for v in inputs)
        got = sorted(line.decode() for body in s3.objects().values()
                     for line in body.splitlines() if line.strip())
        assert got == wanted, stores.diff(got, wanted)
        print(f"{len(got)} rows in {objects} objects: ok")

        # From the start again, with GCS's names for the objects' metadata:
        # each partition's last object starts at the first record handed
        # again, so it is checked (HEAD), found whole, and kept.
        before = s3.objects()
        gcs = GcsAnswers(s3)
        try:
            with open(deployment) as f:
                text = f.read()
            again = env.write("again.yaml", text.replace(
                "auto_offset_reset: earliest",
                "auto_offset_reset: earliest\n          consumer_group: again").replace(
                '"${envvar:S3_ENDPOINT}"', f'"{gcs.endpoint}"'))
            host = env.start_host(pipeline, again, bootstrap)
            h.wait_committed_to_end(bootstrap, "again", tps, timeout=120)
            assert env.stop(host) == 0, env.log(host)
        finally:
            gcs.close()
        # The busy answer: that partition's batch waited the two seconds
        # before its recovery began again (LIST, then HEAD).
        assert gcs.methods["HEAD"] == PARTITIONS + 1, gcs.methods
        busy_at, _, busy_path = next(s for s in gcs.seen if s[1] == "HEAD")
        directory = busy_path[:busy_path.rindex("/") + 1].lstrip("/").split("/", 1)[1]
        later = [at for at, _, path in gcs.seen if at > busy_at and directory in path]
        assert later and later[0] - busy_at >= 1.9, (directory, gcs.seen)
        assert re.search(r"again in 2000 ms, as the store asked: \S+: HEAD \S+: HTTP 503",
                         env.log(host)), env.log(host)
        assert not gcs.methods["PUT"] and not gcs.methods["DELETE"], gcs.methods
        assert s3.objects() == before, "the objects changed"
        print(f"again, with GCS's metadata names: {dict(gcs.methods)}, nothing rewritten: ok")


if __name__ == "__main__":
    main()
