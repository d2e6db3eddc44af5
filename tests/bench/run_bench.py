"""Benchmarks streams-host against the raw librdkafka ceiling and a Python
baseline, on one dev broker, in one run. Writes results.md and chart.png.

usage: run_bench.py BUILD_DIR OUT_DIR [--smoke] [--only NAME,...] [--records N]
       run_bench.py BUILD_DIR OUT_DIR --baseline OLD_BUILD_DIR [--only NAME,...]
       run_bench.py BUILD_DIR OUT_DIR --interleave [--only NAME,...]
       run_bench.py BUILD_DIR OUT_DIR --interleave --paced RATE [--only NAME,...]
       run_bench.py BUILD_DIR OUT_DIR --interleave --against NAME --only NAME,...

--only runs the named scenarios and those they are compared with directly
(the microbenchmarks too, the hot-reload measurement not): a quick second look at
a few rows, still old and new side by side in one run.

--baseline compares two builds of the host (a change against the commit before
it): each host scenario (--only narrows them) runs its throughput measurement
with the old and the new streams-host in turn, 2 x 5 runs interleaved on one
dev broker, so the VM's drift hits both alike. Writes results-ab.md and .json:
the medians, each side's spread, and new / old.

--interleave compares each selected scenario with what it is compared with
(its ceiling or baseline row) the same way: their throughput runs
alternate on one broker. Writes results-interleaved.md and .json.
--against NAME pairs each --only scenario with NAME instead (the host with
the hand-written program, say).
With --paced RATE each run is a paced one instead: the application is
started and warmed up (PACED_WARMUP records turned into outputs, keyed ones
spread over every partition, so each is assigned and restored), then the
records are produced at RATE records/s while `watch` measures; so both sides
do the same work at the same rate, and their CPU per record differs by what
each does per record, not by how librdkafka's batching and prefetching fare
at two different rates (a slower application gets smaller produce batches and
colder fetched records). Writes results-paced.md and .json.

For each scenario: N records are preloaded into a fresh input topic, the
application is started, and `streams-bench watch` measures from the first
output record to the last (so start-up and group join are excluded): records
per second, CPU seconds per million input records and peak RSS. Then, on fresh
topics, records are produced at half the measured maximum while
`streams-bench latency` measures receive time minus record timestamp, leaving out the
first half second (the generator's start-up). The latency at a fixed 20,000
records/s is taken five times per scenario, in rounds like the throughput runs,
and its median p50 and p99 reported.
Each partition stays under the dev broker's ~5 MiB retention. The
application under test runs on core 1, the dev broker and the measuring tools
on core 0 (with both free to float, the scheduler sometimes put the broker and
the application on one core and halved the throughput).
"""
import json
import os
import subprocess
import sys

BUILD = os.path.abspath(sys.argv[1])
OUT = os.path.abspath(sys.argv[2])
SMOKE = "--smoke" in sys.argv
ONLY = (sys.argv[sys.argv.index("--only") + 1].split(",")
        if "--only" in sys.argv[:-1] else None)
BASELINE = (os.path.abspath(sys.argv[sys.argv.index("--baseline") + 1])
            if "--baseline" in sys.argv[:-1] else None)
INTERLEAVE = "--interleave" in sys.argv
PACED = (int(sys.argv[sys.argv.index("--paced") + 1])
         if "--paced" in sys.argv[:-1] else None)
AGAINST = (sys.argv[sys.argv.index("--against") + 1]
           if "--against" in sys.argv[:-1] else None)
# The relays (ceilings and the hand-written program) run with glibc's malloc,
# as a program written without thought for it would; this environment
# variable names an allocator to preload into them instead (a like-for-like
# look at the host, which links tcmalloc).
RELAY_PRELOAD = os.environ.get("STREAMS_BENCH_RELAY_PRELOAD", "")
SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_env  # noqa: E402

bench_env.use_build(BUILD)
import harness as h  # noqa: E402
import reload_pause  # noqa: E402
import restore_rate  # noqa: E402

BENCH = os.path.join(BUILD, "tests", "bench", "streams-bench")
MICRO = os.path.join(BUILD, "tests", "bench", "plugin_call_bench")
PARTITIONS = 8 if SMOKE else 48
COUNT_100B = 20_000 if SMOKE else 1_000_000
COUNT_JSON = 20_000 if SMOKE else 500_000
if "--records" in sys.argv[:-1]:  # a quicker look at slow scenarios
    COUNT_100B = COUNT_JSON = int(sys.argv[sys.argv.index("--records") + 1])
LATENCY_SECONDS = 1 if SMOKE else 3
# Records stamped in the first moments of a latency run are left out: they
# measure the generator's start-up (connection, metadata, producer id).
WARMUP_MS = 200 if SMOKE else 500
# Topics for latency runs stay under this per partition (the dev broker keeps
# ~5 MiB) even if the reader falls behind.
PARTITION_BYTES_MAX = 4 << 20
# A fixed modest rate, the same for every scenario: the pipeline's own
# latency, apart from the saturation of the shared 2-core machine and the
# single-threaded dev broker at half of the maximum.
LOW_RATE = 1000 if SMOKE else 20_000
REPEATS = 1 if SMOKE else 5  # throughput runs per scenario; the median is reported
JSON_SIZE = 250  # approximate size of the IngestMetric records

PASSTHROUGH = """source: {name: in, stream_name: %(input)s}
steps:
  - {kind: map, name: identity, plugin: passthrough, function: identity}
  - {kind: sink, name: out, stream_name: %(output)s}
"""
SIMPLE_MAP_FILTER = """source: {name: in, stream_name: %(input)s}
steps:
  - {kind: filter, name: filter, plugin: ingest_metrics, function: is_counter}
  - {kind: map, name: transform, plugin: ingest_metrics, function: transform}
  - {kind: sink, name: out, stream_name: %(output)s}
"""
# The same in Python transforms run by the host (the functions a user would
# write: the parsed payload in, a dict out).
PY_SIMPLE_MAP_FILTER = """source: {name: in, stream_name: %(input)s}
steps:
  - {kind: parser, name: parse}
  - {kind: filter, name: filter, python: bench_fns.is_counter}
  - {kind: map, name: transform, python: bench_fns.transform}
  - {kind: serializer, name: ser}
  - {kind: sink, name: out, stream_name: %(output)s}
"""
# Platform state: passthrough's running count per key (8 bytes of state a
# key, RocksDB stores), against the identity map on the same keyed records.
STATE_KEYS = 1_000 if SMOKE else 100_000
RESTORE_RECORDS = 20_000 if SMOKE else 1_000_000  # changelog records (keys) to restore
# Each run's pipeline has a name of its own, and so a changelog topic of its
# own (changelog_topics).
COUNTER = """name: counter-%(input)s
source: {name: in, stream_name: %(input)s}
steps:
  - {kind: map, name: count, plugin: passthrough, function: count, state: {}}
  - {kind: sink, name: out, stream_name: %(output)s}
"""
# Processing threads: a CPU-bound pipeline (JSON Schema validation of every
# record, then the record serialised again) with parallelism 1 and 2, both
# free to use either core (with one pinned, two threads could not show).
SCHEMA = """source: {name: in, stream_name: %(input)s}
steps:
  - {kind: parser, name: parse, format: json, schema: ingest_metric.schema.json}
  - {kind: serializer, name: ser, format: json}
  - {kind: sink, name: out, stream_name: %(output)s}
"""
INGEST_METRIC_SCHEMA = """{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["org_id", "project_id", "name", "tags", "timestamp", "type", "retention_days",
               "value"],
  "properties": {
    "org_id": {"type": "integer", "minimum": 0},
    "project_id": {"type": "integer", "minimum": 0},
    "name": {"type": "string", "pattern": "^[cdsg]:[a-z_]+/[a-z_.]+@[a-z]+$"},
    "tags": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 200}},
    "timestamp": {"type": "integer"},
    "type": {"enum": ["c", "d", "s", "g"]},
    "retention_days": {"type": "integer", "enum": [30, 90]},
    "value": {"type": "array", "items": {"type": "number"}, "minItems": 1}
  },
  "additionalProperties": false
}
"""
BOTH_CORES = ["taskset", "-c", "0,1"]
# One segment hop: the identity map in segment 0, a second one beginning
# segment 1 in another process, linked by the topic hop-INPUT-second.
HOP = """name: hop-%(input)s
source: {name: in, stream_name: %(input)s}
steps:
  - {kind: map, name: identity, plugin: passthrough, function: identity}
  - {kind: map, name: second, plugin: passthrough, function: identity}
  - {kind: sink, name: out, stream_name: %(output)s}
"""
PY_PASSTHROUGH = """source: {name: in, stream_name: %(input)s}
steps:
  - {kind: map, name: identity, python: bench_fns.identity}
  - {kind: sink, name: out, stream_name: %(output)s}
"""
BENCH_FNS = """REQUIRED = ("org_id", "project_id", "name", "type", "timestamp", "tags", "value",
            "retention_days")


def is_counter(msg):
    metric = msg.payload
    return all(k in metric for k in REQUIRED) and metric["type"] == "c"


def transform(msg):
    return {**msg.payload, "transformed": True}


def identity(msg):
    return msg.payload
"""


APP_CPU = ["taskset", "-c", "1"]    # the application under test
TOOLS_CPU = ["taskset", "-c", "0"]  # the dev broker and the measuring tools


def bench_json(args, timeout=600):
    result = subprocess.run([*TOOLS_CPU, BENCH, *args], capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"streams-bench {args[0]} failed: {result.stderr}")
    return json.loads(result.stdout)


class Scenario:
    """`group`: the consumer group the application commits as (`tag` filled
    in); when given, its CPU is read once that group committed every input
    (a stateful pipeline sends its changelog before it commits: that work
    belongs to the records)."""

    def __init__(self, name, payload, start, keys=0, group=None):
        self.name, self.payload, self.start, self.keys = name, payload, start, keys
        self.group = group

    def produce_args(self, count):
        return (["--count", str(count)] + (["--json"] if self.payload == "json" else
                                           ["--size", "100"]) +
                (["--keys", str(self.keys)] if self.keys else []))


def spawn_relay(env, bootstrap, topic_in, topic_out, name, *extra):
    preload = ["env", "LD_PRELOAD=" + RELAY_PRELOAD] if RELAY_PRELOAD else []
    return env.spawn([*APP_CPU, *preload, BENCH, "relay", "--bootstrap", bootstrap,
                      "--input", topic_in, "--output", topic_out, "--group", name, *extra], name)


def start_relay(env, bootstrap, topic_in, topic_out, tag):
    return spawn_relay(env, bootstrap, topic_in, topic_out, "relay-" + tag)


def start_relay_inline(env, bootstrap, topic_in, topic_out, tag):
    """The hand-written program for simple_map_filter: the relay with the
    plugin's parse, filter and map code inline (one parse a record)."""
    return spawn_relay(env, bootstrap, topic_in, topic_out, "inline-" + tag,
                       "--inline", "simple_map_filter")


HOST_GROUP = "bench-%(tag)s"  # start_host's consumer group


def start_host(pipeline_text, build=BUILD, source_extra="", cpus=APP_CPU):
    def start(env, bootstrap, topic_in, topic_out, tag):
        pipe = env.write(f"pipeline-{tag}.yaml",
                         pipeline_text % {"input": topic_in, "output": topic_out})
        env.write("bench_fns.py", BENCH_FNS)
        env.write("ingest_metric.schema.json", INGEST_METRIC_SCHEMA)
        # A group of its own per run: a new member of a group that just had
        # one (the run before) can wait out that member's session timeout.
        extra = "\n".join(filter(None, [source_extra,
                                         "consumer_group: " + HOST_GROUP % {"tag": tag}]))
        config = env.write(f"deployment-{tag}.yaml", h.deployment(source_extra=extra))
        return env.start_host(pipe, config, bootstrap, name="host-" + tag,
                              extra=("--log-level", "warn"), prefix=cpus,
                              host=os.path.join(build, "host", "streams-host"),
                              plugins_dir=os.path.join(build, "plugins"))
    start.pipeline_text = pipeline_text
    start.again = lambda other_build: start_host(pipeline_text, other_build, source_extra, cpus)
    return start


class Processes:
    """Two processes of one application: `watch` samples both (pid_args);
    stop() stops both."""

    def __init__(self, first, second):
        self.first, self.second, self.pid = first, second, first.pid

    def stop(self, env, timeout):
        env.stop(self.first, timeout=timeout)
        env.stop(self.second, timeout=timeout)


def start_hop(env, bootstrap, topic_in, topic_out, tag):
    """Segments 0 and 1 of HOP, each a host on core 1."""
    pipe = env.write(f"pipeline-{tag}.yaml", HOP % {"input": topic_in, "output": topic_out})
    servers = '["${envvar:BOOTSTRAP_SERVERS}"]'
    config = env.write(f"deployment-{tag}.yaml", f"""pipeline:
  segments:
    - steps_config:
        in: {{bootstrap_servers: {servers}, auto_offset_reset: earliest,
             consumer_group: bench-{tag}-s0}}
    - steps_config:
        second: {{starts_segment: true, auto_offset_reset: earliest,
                 consumer_group: bench-{tag}-s1}}
        out: {{bootstrap_servers: {servers}}}
""")
    hosts = [env.start_host(pipe, config, bootstrap, name=f"host-{tag}-s{segment}",
                            extra=("--log-level", "warn", "--segment-id", str(segment)),
                            prefix=APP_CPU)
             for segment in (0, 1)]
    return Processes(*hosts)


start_hop.pipeline_text = HOP


def pid_args(proc):
    procs = [proc.first, proc.second] if isinstance(proc, Processes) else [proc]
    return [arg for p in procs for arg in ("--pid", str(p.pid))]


def stop_app(env, proc):
    if isinstance(proc, Processes):
        proc.stop(env, timeout=60)
    else:
        env.stop(proc, timeout=60)


def start_python(env, bootstrap, topic_in, topic_out, tag):
    script = os.path.join(SOURCE, "tests", "bench", "baseline_simple_map_filter.py")
    return env.spawn([*APP_CPU, "/usr/bin/python3", script, bootstrap, topic_in, topic_out,
                      "py-" + tag],
                     "python-" + tag)


def throughput(env, bootstrap, scenario, count, run):
    tag = f"{scenario.name}-tp{run}"
    topic_in, topic_out = "in-" + tag, "out-" + tag
    bench_json(["produce", "--bootstrap", bootstrap, "--topic", topic_in,
                *scenario.produce_args(count)])
    proc = scenario.start(env, bootstrap, topic_in, topic_out, tag)
    try:
        committed = (["--group", scenario.group % {"tag": tag}, "--input", topic_in]
                     if scenario.group else [])
        return bench_json(["watch", "--bootstrap", bootstrap, "--topic", topic_out,
                           "--partitions", str(PARTITIONS), "--expect", str(count),
                           *pid_args(proc), "--timeout", "300", *committed])
    finally:
        stop_app(env, proc)


# Warm-up records of a paced run: with keyed records, enough that every
# partition gets some (so each is assigned, restored and processing).
PACED_WARMUP = 50 * PARTITIONS


def paced(env, bootstrap, scenario, count, run):
    """One paced run (see --paced): CPU per record of `count` records
    produced at PACED records/s, from the first of them out to every input
    committed."""
    tag = f"{scenario.name}-tp{run}"
    proc = paced_start(env, bootstrap, scenario, tag)
    try:
        return paced_measure(env, bootstrap, scenario, proc, tag, count)
    finally:
        stop_app(env, proc)


def paced_start(env, bootstrap, scenario, tag):
    """Starts `scenario`'s application on topics `tag` and waits until it
    turned PACED_WARMUP records into outputs."""
    topic_in, topic_out = "in-" + tag, "out-" + tag
    proc = scenario.start(env, bootstrap, topic_in, topic_out, tag)
    try:
        bench_json(["produce", "--bootstrap", bootstrap, "--topic", topic_in,
                    *scenario.produce_args(PACED_WARMUP)])
        bench_json(["watch", "--bootstrap", bootstrap, "--topic", topic_out, "--partitions",
                    str(PARTITIONS), "--expect", str(PACED_WARMUP), *pid_args(proc),
                    "--timeout", "120"])
    except BaseException:
        stop_app(env, proc)
        raise
    return proc


def paced_measure(env, bootstrap, scenario, proc, tag, count):
    """`watch`'s result while `count` records are produced at PACED
    records/s into the warmed-up application `proc`."""
    topic_in, topic_out = "in-" + tag, "out-" + tag
    committed = (["--group", scenario.group % {"tag": tag}, "--input", topic_in]
                 if scenario.group else [])
    out = env.path(f"watch-{tag}.json")
    with open(out, "w") as f:
        watcher = subprocess.Popen(
            [*TOOLS_CPU, BENCH, "watch", "--bootstrap", bootstrap, "--topic", topic_out,
             "--partitions", str(PARTITIONS), "--expect", str(PACED_WARMUP + count),
             "--from", str(PACED_WARMUP + 1), *pid_args(proc), "--timeout", "300",
             *committed], stdout=f)
    try:
        bench_json(["produce", "--bootstrap", bootstrap, "--topic", topic_in,
                    "--rate", str(PACED), *scenario.produce_args(count)], timeout=300)
        if watcher.wait(timeout=330) != 0:
            raise RuntimeError(f"watch failed for {tag}")
    finally:
        if watcher.poll() is None:
            watcher.kill()
    with open(out) as f:
        return json.loads(f.read().strip().splitlines()[-1])


def latency(env, bootstrap, scenario, rate, phase):
    tag = f"{scenario.name}-{phase}"
    topic_in, topic_out = "in-" + tag, "out-" + tag
    proc = scenario.start(env, bootstrap, topic_in, topic_out, tag)
    try:
        # Warm up: wait until the application is assigned and producing.
        bench_json(["produce", "--bootstrap", bootstrap, "--topic", topic_in,
                    *scenario.produce_args(1)])
        bench_json(["watch", "--bootstrap", bootstrap, "--topic", topic_out, "--partitions",
                    str(PARTITIONS), "--expect", "1", *pid_args(proc), "--timeout", "120"])
        size = JSON_SIZE if scenario.payload == "json" else 100
        count = min(int(rate * (LATENCY_SECONDS + WARMUP_MS / 1000)),
                    PARTITION_BYTES_MAX * PARTITIONS // size)
        reader = env.spawn([*TOOLS_CPU, BENCH, "latency", "--bootstrap", bootstrap,
                            "--topic", topic_out, "--count", str(count),
                            "--warmup-ms", str(WARMUP_MS), "--timeout", "120"],
                           "latency-" + tag)
        # The reader keeps records stamped after it started: produce once it runs.
        h.wait_for(lambda: "latency: assigned" in env.log(reader), 60, "the latency reader")
        bench_json(["produce", "--bootstrap", bootstrap, "--topic", topic_in,
                    "--rate", str(rate), *scenario.produce_args(count)], timeout=300)
        h.wait_for(lambda: reader.poll() is not None, 180, "the latency reader to finish")
        if reader.returncode != 0:
            raise RuntimeError(f"latency reader failed: {env.log(reader)}")
        with open(env.path(reader.log_name + ".out")) as f:
            return json.load(f)
    finally:
        stop_app(env, proc)


def microbench():
    """ns per record of each plugin_call_bench case: the least of its
    repetitions (on a shared VM, noise only ever adds time), and the cost of
    one Python call (the Python identity map less the C++ one)."""
    repetitions = 1 if SMOKE else 9
    result = subprocess.run([MICRO, "--benchmark_format=json",
                             "--benchmark_min_time=" + ("0.01" if SMOKE else "0.3"),
                             f"--benchmark_repetitions={repetitions}"],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    best = {}
    for b in json.loads(result.stdout)["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue
        name = b.get("run_name", b["name"])
        best[name] = min(best.get(name, b["cpu_time"]), b["cpu_time"])
    if "BM_PythonOneOutput" in best and "BM_OneOutput" in best:
        best["one Python call (BM_PythonOneOutput - BM_OneOutput)"] = (
            best["BM_PythonOneOutput"] - best["BM_OneOutput"])
    return best


SCENARIOS = [
    # name, payload, start, ceiling to compare with
    (Scenario("ceiling-100B", "100", start_relay), None),
    (Scenario("host-passthrough-100B", "100", start_host(PASSTHROUGH)), "ceiling-100B"),
    (Scenario("ceiling-json", "json", start_relay), None),
    (Scenario("inline-simple_map_filter", "json", start_relay_inline), "ceiling-json"),
    (Scenario("host-simple_map_filter", "json", start_host(SIMPLE_MAP_FILTER)), "ceiling-json"),
    (Scenario("python-simple_map_filter", "json", start_python), "ceiling-json"),
    (Scenario("host-python-simple_map_filter", "json", start_host(PY_SIMPLE_MAP_FILTER)),
     "python-simple_map_filter"),
    (Scenario("host-python-identity-100B", "100", start_host(PY_PASSTHROUGH)),
     "host-passthrough-100B"),
    (Scenario("host-keyed-identity-100B", "100", start_host(PASSTHROUGH), STATE_KEYS,
              HOST_GROUP), "ceiling-100B"),
    (Scenario("host-counter-state-100B", "100", start_host(COUNTER), STATE_KEYS, HOST_GROUP),
     "host-keyed-identity-100B"),
    (Scenario("host-schema-1-thread", "json", start_host(SCHEMA, cpus=BOTH_CORES)), None),
    (Scenario("host-schema-2-threads", "json",
              start_host(SCHEMA, source_extra="parallelism: 2", cpus=BOTH_CORES)),
     "host-schema-1-thread"),
    (Scenario("host-passthrough-2-segments-100B", "100", start_hop), "host-passthrough-100B"),
]


machine = bench_env.machine


def against_inline(rows):
    """Table lines: the host's simple_map_filter against the hand-written
    program doing the same job (records/s, CPU per record), the relay and the
    Python loop, for those that ran."""
    by = {r["name"]: r for r in rows}
    host, inline = by.get("host-simple_map_filter"), by.get("inline-simple_map_filter")
    if not host or not inline or not inline["cpu_s_per_million"]:
        return []
    lines = ["", "| host-simple_map_filter against | records/s | CPU per record "
             f"| p99 at {LOW_RATE:,}/s, ms more: medians | the same, round by round "
             "(their median) |", "|---|---:|---:|---:|---:|"]
    for name, what in (("inline-simple_map_filter", "the hand-written program"),
                       ("ceiling-json", "the relay"), ("python-simple_map_filter", "the Python loop")):
        other = by.get(name)
        if other and other["msgs_per_s"] and other["cpu_s_per_million"]:
            lines.append(f"| {name} ({what}) | {host['msgs_per_s'] / other['msgs_per_s']:.0%} "
                         f"| {host['cpu_s_per_million'] / other['cpu_s_per_million']:.2f}x "
                         f"| {p99_difference(host, other)} |")
    return lines


def p99_difference(host, other):
    """Table cells: the host's median p99 at LOW_RATE less the other's, and
    the median of the differences within a round (the runs of a round run
    minutes apart at most, so the VM's drift between rounds cancels)."""
    if host["low_p99_ms"] is None or other["low_p99_ms"] is None:
        return "(not run) | (not run)"
    pairs = sorted(a - b for a, b in zip(host["low_p99_runs"], other["low_p99_runs"]))
    return (f"{host['low_p99_ms'] - other['low_p99_ms']:+.0f} "
            f"| {pairs[len(pairs) // 2]:+.0f} ({', '.join(f'{d:+.0f}' for d in pairs)})")


def write_table(rows, micro, reload, restore=None):
    lines = [
        f"Machine: {machine()}",
        "",
        "| scenario | records/s | MB/s | vs ceiling | CPU s / M records | peak RSS MB "
        "| p50 / p99 ms at half max | (half max, records/s) "
        f"| p50 / p99 ms at {LOW_RATE:,}/s (median of {REPEATS}) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = (f"{r['ratio']:.0%}" if r["ratio"] is not None
                 else "=" if r.get("ceiling") is None else "(not run)")
        half_max = ("(not run)" if r["p50_ms"] is None
                    else f"{r['p50_ms']:.0f} / {r['p99_ms']:.0f}")
        low = ("(not run)" if r["low_p50_ms"] is None
               else f"{r['low_p50_ms']:.0f} / {r['low_p99_ms']:.0f}")
        lines.append(
            f"| {r['name']} | {r['msgs_per_s']:,.0f} | {r['mb_per_s']:.1f} | {ratio} "
            f"| {r['cpu_s_per_million']:.2f} | {r['rss_peak_kb'] / 1024:.0f} "
            f"| {half_max} | {r['rate']:,.0f} "
            f"| {low} |")
    lines += against_inline(rows)
    lines += ["", "| plugin call path (plugin_call_bench, least of its repetitions) "
              "| ns per record |", "|---|---:|"]
    lines += [f"| {name} | {ns:.1f} |" for name, ns in micro.items()]
    if reload:
        lines += ["", f"| hot reload ({reload['reloads']} reloads at {reload['rate']:,} "
                  "records/s) | p50 ms | p99 ms |", "|---|---:|---:|"]
        for key, what in (("gap", "latency added around a swap"),
                          ("control", "the same, away from any swap"),
                          ("switch", "processing thread switching")):
            lines.append(
                f"| {what} | {reload[key + '_p50_ms']:.2f} | {reload[key + '_p99_ms']:.2f} |")
    if restore:
        lines += ["", f"| state restore ({restore['records']:,} changelog records, one a key) "
                  "| value |", "|---|---:|",
                  f"| restore, records/s | {restore['records_per_s']:,.0f} |",
                  f"| restore, host CPU µs per record | {restore['cpu_us_per_record']:.2f} |",
                  f"| store on disk, MB per million keys | {restore['disk_mb_per_m_keys']:.1f} |",
                  f"| host RSS added by the restore, MB per million keys "
                  f"| {restore['rss_mb_per_m_keys']:.1f} |"]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(text)
    return text


def write_chart(rows):
    data = os.path.join(OUT, "chart.dat")
    with open(data, "w") as f:
        for r in rows:
            f.write(f"\"{r['name']}\" {r['msgs_per_s'] / 1000:.1f}\n")
    script = f"""set terminal pngcairo size 900,480 noenhanced
set offsets 0, 0, graph 0.12, 0
set output '{os.path.join(OUT, "chart.png")}'
set title 'Records per second (thousands), one 2-core machine, dev broker'
set style data histograms
set style fill solid 0.8
set boxwidth 0.7
set yrange [0:*]
set xtics rotate by -20
unset key
plot '{data}' using 2:xtic(1) linecolor rgb '#3572a5', '' using 0:2:2 with labels offset 0,1 notitle
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def phase_topics(scenario, phase):
    """The input and output topics of one run of `scenario`, and the
    changelog of a stateful one (the dev broker cannot create topics)."""
    topics = [f"{kind}-{scenario.name}-{phase}:{PARTITIONS}" for kind in ("in", "out")]
    if "state:" in getattr(scenario.start, "pipeline_text", ""):
        topics.append(f"counter-in-{scenario.name}-{phase}-count-changelog:{PARTITIONS}")
    if scenario.start is start_hop:
        topics.append(f"hop-in-{scenario.name}-{phase}-second:{PARTITIONS}")
    return topics


def scenario_topics(scenario):
    """The topics of a scenario's runs on its broker (throughput runs have
    brokers of their own but in the smoke)."""
    phases = [f"tp{run}" for run in range(REPEATS)] + ["low"] if SMOKE else ["lat"]
    return [t for phase in phases for t in phase_topics(scenario, phase)]


def selected():
    """SCENARIOS, or those --only names and the ones they compare with."""
    if ONLY is None:
        return SCENARIOS
    known = {s.name: ceiling for s, ceiling in SCENARIOS}
    unknown = [name for name in ONLY if name not in known]
    if unknown:
        sys.exit(f"--only: no scenario {', '.join(unknown)} (there are: {', '.join(known)})")
    wanted = set(ONLY) | {known[name] for name in ONLY if known[name]}
    return [(s, c) for s, c in SCENARIOS if s.name in wanted]


def run_pairs(pairs, out_name, what):
    """Throughput of each pair (name, a, b) of scenarios, their runs
    interleaved (a b, b a, ...) on one broker, so the VM's drift hits both
    alike. Writes OUT/out_name.md and .json: medians, spreads and b / a of
    records/s, and the median CPU seconds per million records of each side."""
    rows = []
    with h.Env() as env:
        for name, a, b in pairs:
            sides = {"a": a, "b": b}
            topics = [t for s in sides.values() for run in range(REPEATS)
                      for t in phase_topics(s, f"tp{run}")]
            bootstrap = env.start_broker(topics, prefix=TOOLS_CPU)
            broker = env.procs[-1]
            runs = {"a": [], "b": []}
            cpu = {"a": [], "b": []}
            for run in range(REPEATS):
                for side in (("a", "b") if run % 2 == 0 else ("b", "a")):
                    scenario = sides[side]
                    count = COUNT_JSON if scenario.payload == "json" else COUNT_100B
                    r = (paced if PACED else throughput)(env, bootstrap, scenario, count, run)
                    runs[side].append(r["msgs_per_s"])
                    cpu[side].append(r["cpu_s_per_million"])
            env.stop(broker)
            median = {k: sorted(v)[len(v) // 2] for k, v in runs.items()}
            cpu_median = {k: sorted(v)[len(v) // 2] for k, v in cpu.items()}
            row = dict(name=name, a=a.name, b=b.name, a_median=median["a"],
                       b_median=median["b"], ratio=median["b"] / median["a"], runs=runs,
                       a_cpu_s_per_million=cpu_median["a"], b_cpu_s_per_million=cpu_median["b"],
                       cpu_runs=cpu)
            rows.append(row)
            print(f"{name}: {json.dumps(row)}", flush=True)
    lines = [f"| {what} | a records/s (median of {REPEATS}) | b | b / a | a runs | b runs "
             "| CPU s / M records, a / b |",
             "|---|---:|---:|---:|---|---|---:|"]
    for r in rows:
        spread = {k: f"{min(v):,.0f}–{max(v):,.0f}" for k, v in r["runs"].items()}
        lines.append(f"| {r['name']} | {r['a_median']:,.0f} | {r['b_median']:,.0f} "
                     f"| {r['ratio']:.0%} | {spread['a']} | {spread['b']} "
                     f"| {r['a_cpu_s_per_million']:.2f} / {r['b_cpu_s_per_million']:.2f} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(OUT, out_name + ".md"), "w") as f:
        f.write(text)
    with open(os.path.join(OUT, out_name + ".json"), "w") as f:
        json.dump({"baseline": BASELINE, "rows": rows}, f, indent=1)
    print(text)
    assert rows, "nothing to compare was selected"


def compare_builds():
    """Each host scenario: a = the baseline build's host, b = this one's,
    with the same records (keys), deployment and cores."""
    pairs = [(s.name, Scenario(s.name + "-old", s.payload, s.start.again(BASELINE), s.keys,
                               s.group), s)
             for s, _ in selected() if hasattr(s.start, "again")]
    run_pairs(pairs, "results-ab", "scenario (a: old build, b: new)")


def compare_interleaved():
    """Each selected scenario that has one: a = what it is compared with,
    b = it."""
    by_name = {s.name: s for s, _ in SCENARIOS}
    if AGAINST and (AGAINST not in by_name or ONLY is None):
        sys.exit(f"--against: needs --only and a scenario (there are: {', '.join(by_name)})")
    pairs = [(f"{s.name} vs {AGAINST or c}", by_name[AGAINST or c], s) for s, c in selected()
             if (AGAINST or c) and (ONLY is None or s.name in ONLY) and s.name != AGAINST]
    run_pairs(pairs, "results-paced" if PACED else "results-interleaved",
              f"b vs a, paced at {PACED:,} records/s" if PACED else "b vs a")


def throughput_rounds(env):
    """{scenario name: its REPEATS throughput runs}, taken in rounds (every
    scenario once a round, the order reversed every other round), each run
    on a dev broker of its own: the VM's drift over the minutes of a full
    run hits every scenario alike, and no run reads from a broker that
    earlier runs filled (the dev broker's fetches slow down as its topics
    grow)."""
    runs = {s.name: [] for s, _ in selected()}
    for run in range(REPEATS):
        order = selected() if run % 2 == 0 else list(reversed(selected()))
        for scenario, _ in order:
            bootstrap = env.start_broker(phase_topics(scenario, f"tp{run}"), prefix=TOOLS_CPU)
            broker = env.procs[-1]
            count = COUNT_JSON if scenario.payload == "json" else COUNT_100B
            runs[scenario.name].append(throughput(env, bootstrap, scenario, count, run))
            env.stop(broker)
    return runs


def latency_rounds(env):
    """{scenario name: its REPEATS latency runs at LOW_RATE}, in rounds as
    throughput_rounds takes them, each on a dev broker of its own: a p99
    from one run moves by tens of milliseconds with the VM's scheduling."""
    runs = {s.name: [] for s, _ in selected()}
    for run in range(REPEATS):
        order = selected() if run % 2 == 0 else list(reversed(selected()))
        for scenario, _ in order:
            phase = f"low{run}"
            bootstrap = env.start_broker(phase_topics(scenario, phase), prefix=TOOLS_CPU)
            broker = env.procs[-1]
            runs[scenario.name].append(latency(env, bootstrap, scenario, LOW_RATE, phase))
            env.stop(broker)
    return runs


def median_latency(runs):
    """The median p50 and the median p99 of `runs` (each a latency() result),
    and every run's p99."""
    def median(key):
        values = sorted(r[key] for r in runs)
        return values[len(values) // 2]
    return {"p50_ms": median("p50_ms"), "p99_ms": median("p99_ms"),
            "p99_runs": [r["p99_ms"] for r in runs]}


def main():
    os.makedirs(OUT, exist_ok=True)
    if BASELINE:
        return compare_builds()
    if INTERLEAVE:
        return compare_interleaved()
    rows, by_name = [], {}
    with h.Env() as env:
        # The smoke run checks the machinery, not the figures: one broker for
        # every scenario, and no latency run at half the maximum.
        shared = (env.start_broker([t for s, _ in selected() for t in scenario_topics(s)],
                                   prefix=TOOLS_CPU) if SMOKE else None)
        throughputs = (None if SMOKE else throughput_rounds(env))
        lows = (None if SMOKE else latency_rounds(env))
        # The smoke measures the low-rate latency once per kind of application
        # (relay, host, Python loop, two segments): each run costs a group join
        # (the dev broker holds a new group's first join for 3 s).
        latency_kinds = set()
        for scenario, ceiling in selected():
            # A fresh dev broker per scenario: every scenario starts from the
            # same clean state, whatever the ones before it left behind.
            bootstrap = shared or env.start_broker(scenario_topics(scenario), prefix=TOOLS_CPU)
            broker = env.procs[-1]
            count = COUNT_JSON if scenario.payload == "json" else COUNT_100B
            runs = sorted(throughputs[scenario.name] if throughputs else
                          (throughput(env, bootstrap, scenario, count, run)
                           for run in range(REPEATS)), key=lambda r: r["msgs_per_s"])
            tp = dict(runs[len(runs) // 2], runs=[r["msgs_per_s"] for r in runs])
            size = JSON_SIZE if scenario.payload == "json" else 100
            rate = max(1000, int(tp["msgs_per_s"] / 2))
            lat = (None if SMOKE else latency(env, bootstrap, scenario, rate, "lat")) or {
                "p50_ms": None, "p99_ms": None}
            kind = scenario.start.__name__
            low = (median_latency(lows[scenario.name]) if lows
                   else {"p50_ms": None, "p99_ms": None} if kind in latency_kinds
                   else latency(env, bootstrap, scenario, LOW_RATE, "low"))
            latency_kinds.add(kind)
            if not shared:
                env.stop(broker)
            row = dict(tp, name=scenario.name, ceiling=ceiling, rate=rate, p50_ms=lat["p50_ms"],
                       p99_ms=lat["p99_ms"], low_p50_ms=low["p50_ms"], low_p99_ms=low["p99_ms"],
                       low_p99_runs=low.get("p99_runs", [low["p99_ms"]]),
                       mb_per_s=tp["msgs_per_s"] * size / 1e6,
                       ratio=(tp["msgs_per_s"] / by_name[ceiling]["msgs_per_s"]
                              if ceiling in by_name else None))
            by_name[scenario.name] = row
            rows.append(row)
            print(f"{scenario.name}: {json.dumps(row)}", flush=True)
    micro = microbench()
    reload = restore = None
    if ONLY is None:
        with h.Env() as env:
            reload = reload_pause.measure(h, env, BENCH, APP_CPU, TOOLS_CPU, 3 if SMOKE else 20)
        with h.Env() as env:
            restore = restore_rate.measure(h, env, BENCH, APP_CPU, TOOLS_CPU, RESTORE_RECORDS,
                                           PARTITIONS)
    print(write_table(rows, micro, reload, restore))
    write_chart(rows)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"machine": machine(), "rows": rows, "micro_ns": micro, "reload": reload,
                   "restore": restore}, f, indent=1)
    check_outputs()


def check_outputs():
    """The run produced a row per scenario, the microbenchmarks and a chart."""
    with open(os.path.join(OUT, "results.md")) as f:
        table = f.read()
    for scenario, _ in selected():
        assert f"| {scenario.name} |" in table, scenario.name
    assert "BM_NoOutput" in table and "BM_OneOutput" in table, table
    assert "BM_PythonOneOutput" in table and "| one Python call" in table, table
    assert ONLY is not None or "| processing thread switching |" in table, table
    assert ONLY is not None or "| inline-simple_map_filter (the hand-written program) |" in table, \
        table
    assert table.startswith("Machine: "), table
    assert ONLY is not None or "| restore, records/s |" in table, table
    with open(os.path.join(OUT, "chart.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", "chart.png is not a PNG"
    if SMOKE:
        print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
