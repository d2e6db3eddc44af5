"""A stateful step's store on a full filesystem (a 128 KiB tmpfs, or a file
size limit where mounting is not allowed): the store's write fails and the
host stops with exit 1, naming the error, with no crash (RocksDB, built with
assertions as Debian builds it, aborted when it logged the error to a LOG
file whose own write had failed) and without committing further. With room
again, a restart restores the store from its changelog and completes the
output."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from test_file_sink_full import Space  # noqa: E402

PIPELINE = """name: diskfull
source: {name: src, stream_name: sd-in}
steps:
  - {kind: filter, name: dedup, plugin: examples, function: dedup, config: {field: id}, state: {}}
  - {kind: sink, name: out, stream_name: sd-out}
"""


def record_id(i):
    return b"id%04d-" % i + b"x" * 1500


def value(i):
    return b'{"id": "%s"}' % record_id(i)


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["sd-in:1", "sd-out:1", "diskfull-dedup-changelog:1"])
        space = Space(env)
        pipeline = env.write("p.yaml", PIPELINE)
        # Stores flushed every 100 ms: the steady stream fills the room in a second.
        config = env.write("d.yaml", h.deployment(source="src", sink="out",
                                                  source_extra="commit_interval_ms: 100")
                           + f"state_dir: {space.dir}/stores\nstate_flush_interval_ms: 100\n")
        host_env = dict(os.environ, BOOTSTRAP_SERVERS=bootstrap,
                        STREAMS_STATE_DIR=env.path("state"))
        args = [h.HOST, "run", "--config", config, "--plugins-dir", h.PLUGINS_DIR, pipeline]
        producer = h.SteadyProducer(bootstrap, "sd-in", keys=1000, value=value)
        producer.start()
        try:
            host = env.spawn(args, "full", env=host_env, preexec_fn=space.limit())
            h.wait_for(lambda: host.poll() is not None, 60, "the host to stop on the full disk")
            log = env.log(host)
            assert host.returncode == 1, (host.returncode, log)
            assert "No space left on device" in log or "File too large" in log, log
            assert "stopping without committing further" in log, log
            space.grow()
            host = env.spawn(args, "after", env=host_env)
            h.wait_progress(lambda: sum(h.end_offsets(bootstrap, h.partitions("sd-out", 1))
                                        .values()), producer.sent + 100, 60, "output after")
            total = producer.finish()
        finally:
            producer.done.set()
        h.wait_committed_to_end(bootstrap, "pipeline-src", h.partitions("sd-in", 1))
        assert env.stop(host) == 0, env.log(host)
        out = {r.value for r in h.read_all(bootstrap, h.partitions("sd-out", 1))}
        missing = [i for i in range(total) if value(i) not in out]
        assert not missing, missing[:5]
    print(f"ok: {total} records, the host stopped on the full disk and completed after it")


if __name__ == "__main__":
    main()
