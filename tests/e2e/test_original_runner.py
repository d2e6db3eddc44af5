"""The original's runner command line runs the YAML pipeline as it is:
`-n NAME` names the pipeline (the metrics label `pipeline`), `-l INFO` in
upper case, `--adapter rust_arroyo` (one runtime here) and `--segment-id 0`;
SEGMENT_ID picks the segment too."""
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: orig-in}
steps:
  - {kind: map, name: up, plugin: testkit, function: upper}
  - {kind: sink, name: out, stream_name: orig-out}
"""


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["orig-in:1", "orig-out:1"])
        pipeline = env.write("p.yaml", PIPELINE)
        config = env.write("d.yaml", h.deployment())
        host = env.start_host(pipeline, config, bootstrap, plugins_dir=h.TEST_PLUGINS_DIR,
                              extra=["-n", "simple_map_filter", "-l", "INFO", "--adapter",
                                     "rust_arroyo", "--segment-id", "0", "--admin-port", "0"])
        port = h.admin_port(env, host)
        h.produce(bootstrap, "orig-in", [(None, b"hello", [])])
        h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("orig-in", 1))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        assert 'streams_consumed_total{pipeline="simple_map_filter"} 1' in metrics, metrics
        log = env.log(host)
        assert "--adapter rust_arroyo: accepted" in log, log
        assert env.stop(host) == 0, log
        assert [r.value for r in h.read_all(bootstrap, h.partitions("orig-out", 1))] == [b"HELLO"]

        # SEGMENT_ID chooses the segment as -s does: there is no segment 3.
        result = h.run_cli(["validate", "--config", config, "--plugins-dir", h.TEST_PLUGINS_DIR,
                            pipeline], env=dict(os.environ, SEGMENT_ID="3",
                                                BOOTSTRAP_SERVERS=bootstrap))
        assert result.returncode == 2 and "segment" in result.stderr, result
    print("ok")


if __name__ == "__main__":
    main()
