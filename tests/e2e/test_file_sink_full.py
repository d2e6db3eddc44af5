"""A file sink on a full filesystem (a 128 KiB tmpfs; where mounting is not
allowed, a file size limit, which fails writes the same way): the write
fails, the host stops (exit 1) and never commits past the last line it fully
wrote; no torn line is left. After space returns, a restart completes the
output: every input's line is there, whole. Then log rotation: the file is
renamed, and POST /reopen (and SIGHUP) make the sink write a new one."""
import os
import resource
import signal
import subprocess
import urllib.request
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: fs-in}
steps:
  - {kind: sink, name: out, type: file, path: %s}
"""
BATCH, BATCHES = 200, 8  # more than the room
LIMIT = 128 * 1024


def value(i):
    return b"r%05d-" % i + b"x" * 140


class Space:
    """A directory with LIMIT bytes of room: a tmpfs, or a file size limit
    for the host's process when mounting is not allowed."""

    def __init__(self, env):
        self.dir = env.path("full")
        os.mkdir(self.dir)
        self.mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={LIMIT}", "tmpfs", self.dir],
            capture_output=True).returncode == 0
        if self.mounted:
            env.callback(subprocess.run, ["umount", "-l", self.dir], capture_output=True)

    def limit(self):
        """preexec_fn for the host's process."""
        if self.mounted:
            return None
        return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))

    def grow(self):
        """Room for what a test writes after: a stateful store's write-ahead
        log keeps every record of the run until its memtable flushes (about
        300 KB a second of SteadyProducer's 1.5 KB records), so 4 MB ran out
        on a slow machine. A tmpfs takes memory only for what is written."""
        if self.mounted:
            subprocess.run(["mount", "-o", "remount,size=64m", self.dir], check=True)


def lines(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data == b"" or data.endswith(b"\n"), "the file ends with a torn line"
    got = data.split(b"\n")[:-1]
    wanted = {value(i) for i in range(BATCH * BATCHES + 20)}
    torn = [line for line in got if line not in wanted]
    assert not torn, torn[:3]
    return got


def committed(bootstrap):
    return h.committed_offsets(bootstrap, "pipeline-in", h.partitions("fs-in", 1))[0]


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["fs-in:1"])
        space = Space(env)
        out = os.path.join(space.dir, "out.txt")
        pipeline = env.write("p.yaml", PIPELINE % out)
        config = env.write("d.yaml", h.deployment(source_extra="commit_interval_ms: 100"))
        host = env.spawn([h.HOST, "run", "--config", config, "--plugins-dir", h.PLUGINS_DIR,
                          pipeline], "full",
                         env=dict(os.environ, BOOTSTRAP_SERVERS=bootstrap,
                                  STREAMS_STATE_DIR=env.path("state")),
                         preexec_fn=space.limit())
        sent = 0
        for _ in range(BATCHES):  # until the disk is full and the host stops
            h.produce(bootstrap, "fs-in", [(None, value(i), []) for i in range(sent, sent + BATCH)])
            sent += BATCH
            h.wait_for(lambda: host.poll() is not None or committed(bootstrap) == sent, 60,
                       "the batch committed, or the host stopped")
            if host.poll() is not None:
                break
        assert host.wait(timeout=60) == 1, env.log(host)
        log = env.log(host)
        assert "file sink " + out + ": write failed" in log, log
        done = committed(bootstrap)
        written = lines(out)
        assert 0 < done < sent, (done, sent)
        assert set(written) >= {value(i) for i in range(done)}, "committed past a missing line"

        space.grow()
        host = env.start_host(pipeline, config, bootstrap, name="after",
                              extra=["--admin-port", "0", "--no-watch"])
        port = h.admin_port(env, host)
        h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("fs-in", 1))
        assert set(lines(out)) == {value(i) for i in range(sent)}

        for n, reopen in enumerate([
                lambda: urllib.request.urlopen(urllib.request.Request(
                    f"http://127.0.0.1:{port}/reopen", method="POST")).status == 202,
                lambda: host.send_signal(signal.SIGHUP) or True]):
            os.rename(out, f"{out}.{n}")
            assert reopen()
            h.wait_for(lambda: os.path.exists(out), 30, "the sink to create its file again")
            h.produce(bootstrap, "fs-in", [(None, value(i), []) for i in range(sent, sent + 10)])
            sent += 10
            h.wait_for(lambda: len(lines(out)) == 10, 30, "the new lines in the new file")
        assert env.stop(host) == 0, env.log(host)
    print("ok")


if __name__ == "__main__":
    main()
