"""The object store sink plugin against a real S3-compatible server
(s3rver): simple_map_filter's output lands in zstd-compressed NDJSON
objects exactly, row by row, in objects named by the source offsets they
hold ({prefix}/{topic}/{partition}/{first}-{last}.ndjson.zst), which never
overlap. A partial object a dead writer left (s3rver keeps the part of a PUT
it received) is found, deleted and written whole."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
import stores  # noqa: E402

PARTITIONS = 4

PIPELINE = stores.STEPS + """  - kind: sink
    name: archive
    plugin: object_store_sink
    batch_size: 250
    batch_time_ms: 100
    config: {bucket: archive, prefix: ingest, compression: zstd}
"""



def main():
    with h.Env() as env:
        s3 = stores.ObjectStore(env, "archive")
        bootstrap = env.start_broker([f"metrics:{PARTITIONS}"])
        pipeline = env.write("p.yaml", PIPELINE)
        deployment = env.write("d.yaml", stores.deployment(s3.sink_entry("archive")))
        check = h.run_cli(["validate", "--config", deployment, "--plugins-dir", h.PLUGINS_DIR,
                           pipeline], env=dict(os.environ, BOOTSTRAP_SERVERS=bootstrap))
        assert "archive (object_store_sink/s3, exactly-once)" in check.stdout, \
            check.stdout + check.stderr
        inputs = stores.metric_inputs(3000)
        h.produce(bootstrap, "metrics", [(b"k%d" % i, v, []) for i, v in enumerate(inputs)])
        tps = h.partitions("metrics", PARTITIONS)
        # Partition 0's objects start with one that a writer killed mid-upload
        # left: it claims the partition's first 100 offsets from its first
        # counter (the first record the sink gets) and holds a part of a row.
        first = min(r.offset for r in h.read_all(bootstrap, [tps[0]])
                    if json.loads(r.value)["type"] == "c")
        partial = "ingest/metrics/0/%020d-%020d.ndjson.zst" % (first, first + 100)
        s3.put_partial(partial, b"\x28\xb5\x2f\xfd" + b"x" * 64)
        host = env.start_host(pipeline, deployment, bootstrap)
        h.wait_committed_to_end(bootstrap, "pipeline-in", tps, timeout=120)
        assert env.stop(host) == 0, env.log(host)

        keys = s3.keys()
        assert keys and all(k.startswith("ingest/metrics/") and k.endswith(".ndjson.zst")
                            for k in keys), keys
        assert partial not in keys, "the partial object was kept"
        objects = s3.check_objects()
        wanted = stores.expected_rows(inputs)
        got = s3.rows()
        assert sorted(got) == sorted(wanted), stores.diff(got, wanted)
        print(f"{len(got)} rows in {objects} objects: ok")


if __name__ == "__main__":
    main()
