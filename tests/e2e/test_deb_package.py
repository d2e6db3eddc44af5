"""The Debian package: `cpack -G DEB` in the build directory makes
streams-host_VERSION_ARCH.deb; unpacked (dpkg-deb -x) into a fresh
directory, its host runs the quickstart pipeline (simple_map_filter) on its
own dev broker with its bundled plugin, with the command line of the
container image (packaging/Dockerfile's ENTRYPOINT and CMD, its paths moved
under the test's directory: no container runtime here), and, started as a
Type=notify systemd unit would start it ($NOTIFY_SOCKET, $WATCHDOG_USEC),
tells READY=1, then WATCHDOG=1 while it runs, then STOPPING=1 on SIGTERM.
Its maintainer scripts restart the running instances on an upgrade and stop
them on a removal."""
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

EXPECTED_FILES = [
    "./usr/bin/streams-host",
    "./usr/lib/streams/plugins/ingest_metrics.so",
    "./usr/lib/streams/plugins/examples.so",
    "./usr/lib/streams/python.so",
    "./usr/lib/streams/python/streams/pipeline/pipeline.py",
    "./usr/include/streams/plugin_abi.h",
    "./usr/include/streams/plugin.hpp",
    "./usr/lib/systemd/system/streams@.service",
    "./usr/share/doc/streams-host/README.md",
    "./usr/share/doc/streams-host/examples/simple_map_filter/pipeline.yaml",
]


def image_command(root, env):
    """The Dockerfile's ENTRYPOINT + CMD, with the image's paths mapped to the
    unpacked package and the test's directories."""
    text = open(os.path.join(h.SOURCE_DIR, "packaging", "Dockerfile")).read().replace("\\\n", "")
    entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", text, re.M).group(1))
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))
    assert re.search(r"^STOPSIGNAL SIGTERM$", text, re.M) and re.search(r"^USER 10001:10001$", text,
                                                                          re.M), text
    mapping = {"/usr/bin/": os.path.join(root, "usr/bin/"),
               "/var/lib/streams": env.path("var-lib-streams"),
               "/etc/streams": env.path("etc-streams")}

    def mapped(arg):
        for old, new in mapping.items():
            if arg.startswith(old):
                return new + arg[len(old):]
        return arg
    return [mapped(a) for a in entry + cmd]


def run(args, **kwargs):
    r = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert r.returncode == 0, (args, r.stdout[-3000:], r.stderr[-3000:])
    return r.stdout


def maintainer_scripts(deb, env):
    """What the package's scripts ask of systemd: each run as dpkg runs it,
    with a systemctl that records its calls, on a system booted with
    systemd (a mount namespace with /run/systemd/system) and on one not."""
    control = env.path("control")
    run(["dpkg-deb", "-e", deb, control])
    fake = env.write("fakebin/systemctl", '#!/bin/sh\necho "$*" >> "$SYSTEMCTL_LOG"\n')
    os.chmod(fake, 0o755)

    def calls(script, *args, systemd=True):
        log = env.path("systemctl.log")
        if os.path.exists(log):
            os.remove(log)
        path = os.path.join(control, script)
        assert os.stat(path).st_mode & 0o777 == 0o755, (script, oct(os.stat(path).st_mode))
        command = " ".join(["sh", path, *(f"'{a}'" for a in args)])
        if systemd:
            command = f"mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && {command}"
        run(["unshare", "-m", "--propagation", "private", "sh", "-c", command],
            env=dict(os.environ, PATH=env.path("fakebin") + ":" + os.environ["PATH"],
                     SYSTEMCTL_LOG=log))
        return open(log).read().splitlines() if os.path.exists(log) else []

    reload = "--system daemon-reload"
    assert calls("postinst", "configure", "") == [reload]  # installed
    assert calls("postinst", "configure", "0.1.0") == [reload, "try-restart streams@*.service"]
    assert calls("postinst", "configure", "0.1.0", systemd=False) == []
    assert calls("prerm", "upgrade", "0.2.0") == []  # the new one's postinst restarts
    assert calls("prerm", "remove") == ["stop streams@*.service"]
    assert calls("postrm", "remove") == [reload]


class Notifications(threading.Thread):
    """Reads the datagrams sent to `sock` as systemd does, at once (a unix
    datagram socket's queue is short: an unread one would block the sender)."""

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock, self.seen = sock, []

    def run(self):
        while True:
            try:
                self.seen.append(self.sock.recv(4096).decode())
            except OSError:
                return


def main():
    with h.Env() as env:
        run(["cpack", "-G", "DEB", "-B", env.path("deb")], cwd=h.BUILD_DIR)
        debs = glob.glob(env.path("deb/*.deb"))
        assert len(debs) == 1, debs
        deb = debs[0]
        fields = run(["dpkg-deb", "-f", deb, "Package", "Version", "Depends"])
        assert "Package: streams-host" in fields, fields
        version = re.search(r"Version: (\S+)", fields).group(1)
        for lib in ("librdkafka1", "librocksdb", "libyaml-cpp", "libsystemd0", "libpython3"):
            assert lib in fields, (lib, fields)
        listing = run(["dpkg-deb", "-c", deb])
        files = {line.split()[-1] for line in listing.splitlines()}
        missing = [f for f in EXPECTED_FILES if f not in files]
        assert not missing, (missing, sorted(files)[:40])
        strays = [f for f in files if "testkit" in f or "test_plugins" in f or "/bench" in f]
        assert not strays, strays

        maintainer_scripts(deb, env)

        root = env.path("root")
        run(["dpkg-deb", "-x", deb, root])
        host = os.path.join(root, "usr/bin/streams-host")
        assert version in run([host, "--version"]), version
        unit = open(os.path.join(root, "usr/lib/systemd/system/streams@.service")).read()
        assert "Type=notify" in unit and "ExecReload=/bin/kill -HUP $MAINPID" in unit, unit

        h.BROKER_HOST = host
        bootstrap = env.start_broker(["ingest-metrics:4", "transformed-events:4"])
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(env.path("notify"))
        notes = Notifications(sock)
        notes.start()
        os.environ.update(NOTIFY_SOCKET=env.path("notify"), WATCHDOG_USEC="400000")
        # As the image runs it: the files on /etc/streams, the user's plugins
        # in /var/lib/streams/plugins (the user's mounts; none here): the
        # example's plugin is the package's own, found beside the host.
        os.makedirs(env.path("etc-streams"))
        os.makedirs(env.path("var-lib-streams/plugins"))
        for name in ("pipeline.yaml", "deployment.yaml"):
            shutil.copy(os.path.join(h.EXAMPLE_DIR, name), env.path("etc-streams"))
        command = image_command(root, env)
        assert command[0] == host, command
        proc = env.spawn(command, "host", env=dict(
            os.environ, BOOTSTRAP_SERVERS=bootstrap, NOTIFY_SOCKET=env.path("notify"),
            WATCHDOG_USEC="400000"))
        with open(os.path.join(h.EXAMPLE_DIR, "input.jsonl"), "rb") as f:
            h.produce(bootstrap, "ingest-metrics",
                      [(None, line.rstrip(b"\n"), []) for line in f if line.strip()])
        with open(os.path.join(h.EXAMPLE_DIR, "expected_output.jsonl")) as f:
            expected = sorted(line.rstrip("\n") for line in f if line.strip())
        outputs = h.partitions("transformed-events", 4)
        h.wait_for(lambda: len(h.read_all(bootstrap, outputs)) >= len(expected), 60,
                   "the example's outputs")
        got = sorted(r.value.decode() for r in h.read_all(bootstrap, outputs))
        assert got == expected, (got, expected)

        seen = notes.seen
        h.wait_for(lambda: sum("WATCHDOG=1" in n for n in seen) >= 2, 30, "two WATCHDOG=1")
        assert seen[0].startswith("READY=1"), seen
        assert env.stop(proc) == 0, env.log(proc)
        bundled = os.path.realpath(os.path.join(root, "usr/lib/streams/plugins"))
        assert f"({bundled}/ingest_metrics.so)" in env.log(proc), env.log(proc)
        h.wait_for(lambda: any(n.startswith("STOPPING=1") for n in seen), 30, "STOPPING=1")
        sock.close()
        # --state-dir: the crash journal is in the image's volume.
        assert os.listdir(env.path("var-lib-streams")) != ["plugins"], os.listdir(
            env.path("var-lib-streams"))
    print(f"ok: {os.path.basename(deb)}, {len(files)} entries; the unpacked host ran the "
          f"example; {len(seen)} notifications")


if __name__ == "__main__":
    main()
