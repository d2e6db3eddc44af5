"""Restoring state from the changelog: the counter (passthrough's `count`, a
RocksDB store) runs over N records, each with a key of its own, so that the
changelog holds one record per key; the host is stopped, its stores are
deleted, and a new host restores them. Reported, by run_bench.py
(packaging/bench.sh):

- restore records/s: the new host's streams_restore_records_total over its
  streams_restore_seconds_total (the restores' own time, one partition after
  another, read from GET /metrics), and its CPU time per record restored;
- disk MB per million keys: the restored stores (du of the state directory);
- RSS MB per million keys: the restoring host's resident set after the
  restore, less the same host's before it (the keys are then in RocksDB's
  memtables and block cache, not in the host's table caches; the restore
  consumer's buffers count too).
"""
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request

PIPELINE = """name: restore
source: {name: in, stream_name: in-restore}
steps:
  - {kind: map, name: count, plugin: passthrough, function: count, state: {}}
  - {kind: sink, name: out, stream_name: out-restore}
"""


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        text = r.read().decode()
    m = re.search(rf"^streams_{name}(?:{{[^}}]*}})? ([0-9.e+-]+)$", text, re.M)
    return float(m.group(1)) if m else None


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def du_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return total


def measure(h, env, bench, app_cpu, tools_cpu, records, partitions):
    """Returns records/s, disk and RSS per million keys, and the counts."""
    topics = [f"{t}:{partitions}" for t in ("in-restore", "out-restore",
                                           "restore-count-changelog")]
    bootstrap = env.start_broker(topics, prefix=tools_cpu)
    broker = env.procs[-1]
    subprocess.run([*tools_cpu, bench, "produce", "--bootstrap", bootstrap, "--topic",
                    "in-restore", "--count", str(records), "--size", "100"], check=True,
                   capture_output=True)
    pipeline = env.write("restore.yaml", PIPELINE)
    config = env.write("restore-deployment.yaml", h.deployment())
    stores = env.path("restore-state")
    first = env.start_host(pipeline, config, bootstrap, name="restore-first", prefix=app_cpu,
                           extra=("--log-level", "warn", "--state-dir", stores))
    h.wait_committed_to_end(bootstrap, "pipeline-in", h.partitions("in-restore", partitions),
                            timeout=300)
    assert env.stop(first, timeout=120) == 0, env.log(first)
    shutil.rmtree(stores)
    second = env.start_host(pipeline, config, bootstrap, name="restore-second", prefix=app_cpu,
                            extra=("--state-dir", stores, "--admin-port", "0"))
    port = h.admin_port(env, second)
    before, cpu_before = rss_kb(second.pid), cpu_seconds(second.pid)
    broker_before = cpu_seconds(broker.pid)

    def restored():
        # /readyz is cheap to answer (the host is pinned to one core, and
        # rendering /metrics 20 times a second would take a share of it).
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=30) as r:
                return r.status == 200
        except urllib.error.HTTPError as e:
            reason = e.read().decode()
            return not any(w in reason for w in ("starting", "joining", "restoring"))
    h.wait_for(restored, 300, "the restore to finish")
    count = metric(port, "restore_records_total")
    assert count >= records, (count, records)
    seconds = metric(port, "restore_seconds_total")
    after, cpu = rss_kb(second.pid), cpu_seconds(second.pid) - cpu_before
    broker_cpu = cpu_seconds(broker.pid) - broker_before
    disk = du_bytes(stores)
    assert env.stop(second, timeout=120) == 0, env.log(second)
    env.stop(broker)
    return {"records": int(count), "seconds": seconds,
            "records_per_s": count / seconds if seconds else 0.0,
            "cpu_us_per_record": cpu * 1e6 / count,
            "broker_cpu_us_per_record": broker_cpu * 1e6 / count,
            "disk_mb_per_m_keys": disk / 1e6 * 1e6 / records,
            "rss_mb_per_m_keys": max(0, after - before) / 1024 * 1e6 / records}
