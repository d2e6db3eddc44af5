"""The processing pause of a hot reload: records flow at a steady rate through
the stamp plugin while the host is reloaded every second, alternating two
versions of the plugin (POST /reload). For each reload:

- gap: the largest end-to-end latency of the records stamped within 100 ms of
  the moment the swap took effect, minus the median latency of the whole run
  (what the swap added to the records waiting on it);
- control: the same measure half a second after each swap, with no swap
  near: what the latency does on its own;
- switch: the time the processing thread spent switching (switch_us in the
  reload's outcome), during which no input is processed.

Reported as p50 / p99 over the reloads, by run_bench.py (packaging/bench.sh).
"""
import json
import os
import shutil
import statistics
import time
import urllib.request

RATE = 5000       # records per second
PARTITIONS = 8
WINDOW_MS = 100   # records stamped this close to a swap are "around" it


def post_reload(port):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/reload", method="POST")
    with urllib.request.urlopen(request, timeout=60) as r:
        return json.loads(r.read())


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def measure(h, env, bench, app_cpu, tools_cpu, reloads):
    """Returns the p50 and p99 of the gap, control and switch times."""
    seconds = reloads + 2
    count = RATE * seconds
    bootstrap = env.start_broker([f"rp-in:{PARTITIONS}", f"rp-out:{PARTITIONS}"],
                                 prefix=tools_cpu)
    plugins = env.path("rp-plugins")
    os.makedirs(plugins, exist_ok=True)
    stamp = os.path.join(plugins, "stamp.so")
    versions = [os.path.join(h.TEST_PLUGINS_DIR, f"stamp_v{v}.so") for v in (1, 2)]
    shutil.copyfile(versions[0], stamp)
    pipeline = env.write("rp.yaml", """source: {name: in, stream_name: rp-in}
steps:
  - {kind: map, name: stamp, plugin: stamp, function: stamp}
  - {kind: sink, name: out, stream_name: rp-out}
""")
    host = env.start_host(pipeline, env.write("rp-d.yaml", h.deployment()), bootstrap,
                          plugins_dir=plugins, name="rp-host", prefix=app_cpu,
                          extra=["--admin-port", "0", "--no-watch"])
    port = h.admin_port(env, host)
    h.produce(bootstrap, "rp-in", [(None, b"warmup", [])])
    h.wait_for(lambda: sum(h.end_offsets(bootstrap, h.partitions("rp-out", PARTITIONS))
                           .values()) >= 1, 60, "the host's first output")
    dump = env.path("rp-latency.txt")
    reader = env.spawn([*tools_cpu, bench, "latency", "--bootstrap", bootstrap, "--topic",
                        "rp-out", "--count", str(count), "--warmup-ms", "0", "--timeout", "120",
                        "--dump", dump], "rp-latency")
    h.wait_for(lambda: "latency: assigned" in env.log(reader), 60, "the latency reader")
    producer = env.spawn([*tools_cpu, bench, "produce", "--bootstrap", bootstrap, "--topic",
                          "rp-in", "--count", str(count), "--size", "100", "--rate", str(RATE)],
                         "rp-producer")
    outcomes = []
    time.sleep(1.0)  # the stream's pace: a reload a second, from the first second on
    for k in range(reloads):
        shutil.copyfile(versions[(k + 1) % 2], stamp + ".tmp")
        os.replace(stamp + ".tmp", stamp)
        outcome = post_reload(port)
        if outcome["outcome"] != "applied":
            raise RuntimeError(f"reload {k + 1}: {outcome}")
        outcomes.append(outcome)
        time.sleep(1.0)
    h.wait_for(lambda: producer.poll() is not None, 120, "the producer to finish")
    h.wait_for(lambda: reader.poll() is not None, 180, "the latency reader to finish")
    if reader.returncode != 0:
        raise RuntimeError(f"latency reader failed: {env.log(reader)}")
    env.stop(host, timeout=60)
    with open(env.path(reader.log_name + ".out")) as f:
        first_ts = json.load(f)["first_ts_ms"]
    rows = []
    with open(dump) as f:
        for line in f:
            since_first, _, latency = (int(x) for x in line.split())
            rows.append((first_ts + since_first, latency))
    median = statistics.median(lat for _, lat in rows)

    def extra_latency(at_ms):
        near = [lat for ts, lat in rows if abs(ts - at_ms) <= WINDOW_MS]
        return max(near) - median if near else 0
    gaps = [extra_latency(o["took_effect_ms"]) for o in outcomes]
    control = [extra_latency(o["took_effect_ms"] + 500) for o in outcomes]
    switches = [o["switch_us"] / 1000 for o in outcomes]
    result = {"reloads": reloads, "rate": RATE, "median_latency_ms": median}
    for name, values in (("gap", gaps), ("control", control), ("switch", switches)):
        result[name + "_p50_ms"] = percentile(values, 0.5)
        result[name + "_p99_ms"] = percentile(values, 0.99)
    return result
