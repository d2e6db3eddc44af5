"""The CPU account of one benchmark scenario: where each record's CPU goes.

usage: cpu_account.py BUILD_DIR OUT_DIR [--paced RATE] SCENARIO [SCENARIO...]

Runs each scenario of run_bench.py once (its records preloaded, on a dev
broker of its own), samples the application with `perf record -e cpu-clock
--call-graph dwarf` while it works, and folds every sample into a component
by the innermost frame that names one (a malloc under rd_kafka_producev is
produce's; simdjson under a plugin's function is that plugin's). Writes
OUT_DIR/cpu-account-SCENARIO.md (CPU µs per record by thread and component)
and .folded (the stacks, for flame graphs). With --paced RATE the application
is warmed up first and sampled while the records come at RATE a second
(run_bench.py --paced): start-up is left out, and the rate is the same for
every scenario. Needs perf (Debian's
linux-perf) and permission to profile (root, or perf_event_paranoid <= 1).
"""
import collections
import json
import os
import re
import signal
import subprocess
import sys

if len(sys.argv) < 4:
    sys.exit(__doc__)
BUILD, OUT, NAMES = sys.argv[1], sys.argv[2], sys.argv[3:]
PACED = None
if NAMES[:1] == ["--paced"] and len(NAMES) > 2:
    PACED, NAMES = NAMES[1], NAMES[2:]
# run_bench reads its own command line when imported: give it one.
sys.argv = ["run_bench.py", BUILD, OUT] + (["--paced", PACED] if PACED else [])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench as rb  # noqa: E402

h = rb.h
FREQ = 1999  # samples a second a CPU

# (component, pattern on a frame "symbol (dso)"). A sample goes to the
# innermost frame that names one of HOST's (all it calls is that part's),
# else to the innermost that names one of LOW's, else to the innermost that
# names one of REST's.
def rules(pairs):
    return [(name, re.compile(pattern)) for name, pattern in pairs]


HOST = rules([
    ("consume: header parse (librdkafka)", r"rd_kafka_message_(detach_)?headers"),
    ("consume (librdkafka calls)",
     r"rd_kafka_consume_batch_queue|rd_kafka_consumer_poll|rd_kafka_message_destroy"),
    ("produce (librdkafka calls)", r"rd_kafka_producev|rd_kafka_produce\b"),
    ("delivery reports", r"rd_kafka_poll\b|rd_kafka_flush|on_delivery"),
    ("commits", r"rd_kafka_commit|rd_kafka_offsets?_store|Runtime::commit"),
    ("offset tracking", r"OffsetTracker::"),
    ("metrics", r"streams::metrics::"),
    ("state", r"streams::state::|librocksdb"),
    # simdjson's frames end the unwinding: its callers are not seen. The host
    # loads a copy of each plugin (streams-plugin-XXXXXX.so, deleted once
    # open), whose frames perf cannot name: "[unknown] (/tmp/streams-plugin-...".
    ("plugin code",
     r"\(\S*/plugins/[^/ )]+\.so\)|/streams-plugin-\w+\.so\b|ingest_metric::|libsimdjson"),
    ("python", r"libpython|streams_python"),
    ("chain (host)", r"streams::pipeline::Chain::"),
    ("host runtime", r"streams::"),
])
LOW = rules([
    ("page faults (kernel)", r"asm_exc_page_fault"),
    ("receive (kernel)", r"tcp_recvmsg|sock_recvmsg|__sys_recvmsg"),
    ("send (kernel)", r"tcp_sendmsg|__sys_sendmsg"),
    ("poll and wait (kernel)", r"do_sys_poll|futex|schedule\b"),
    ("malloc and free (libc)", r"_int_malloc|_int_free|malloc|calloc|\bfree\b|sysmalloc"),
    ("locks (libc)", r"pthread_mutex|lll_mutex|__mtx_"),
])
REST = rules([
    ("librdkafka (internal)", r"librdkafka"),
    ("kernel (other)", r"\[kernel\.kallsyms\]"),
])
RECEIVING, SENDING = re.compile(r"tcp_recvmsg"), re.compile(r"tcp_sendmsg")


def fold(script):
    """perf script text -> Counter{(thread, (frames leaf first)): samples}."""
    stacks = collections.Counter()
    thread, frames = None, []
    for line in script.splitlines() + [""]:
        if not line.strip():
            if thread is not None:
                stacks[(thread, tuple(frames))] += 1
            thread, frames = None, []
        elif not line.startswith((" ", "\t")):
            m = re.match(r"(\S.*?)\s+(\d+)(?:/(\d+))?\s", line)
            thread = f"{m.group(1)}/{m.group(3) or m.group(2)}" if m else line.split()[0]
        else:
            parts = line.strip().split(None, 1)
            frames.append(re.sub(r"\+0x[0-9a-f]+ ", " ", parts[1] if len(parts) > 1 else ""))
    return stacks


def component(frames):
    for table in (HOST, LOW, REST):
        for frame in frames:  # leaf first
            for name, pattern in table:
                if pattern.search(frame):
                    return name
    return "other"


def thread_kind(thread, io, main):
    """The application's busiest thread is its processing thread; a
    librdkafka broker thread that mostly receives is a consumer's. `io`:
    the thread's samples in tcp_recvmsg and in tcp_sendmsg."""
    if thread == main:
        return "processing thread"
    if thread.startswith("rdk:broker"):
        receive, send = io
        return ("librdkafka broker threads, receiving" if receive > send
                else "librdkafka broker threads, sending" if send else "librdkafka other threads")
    return "librdkafka other threads" if thread.startswith("rdk:") else "other threads"


def broker_threads(pid):
    count = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/comm") as f:
                count += f.read().startswith("rdk:broker")
        except OSError:
            pass  # the thread ended
    return count


def account(env, bootstrap, scenario):
    count = rb.COUNT_JSON if scenario.payload == "json" else rb.COUNT_100B
    tag = f"{scenario.name}-tp0"
    if PACED:
        proc = rb.paced_start(env, bootstrap, scenario, tag)
    else:
        rb.bench_json(["produce", "--bootstrap", bootstrap, "--topic", "in-" + tag,
                       *scenario.produce_args(count)])
        proc = scenario.start(env, bootstrap, "in-" + tag, "out-" + tag, tag)
    data = os.path.join(OUT, f"perf-{scenario.name}.data")
    pids = [str(p.pid) for p in ([proc.first, proc.second] if isinstance(proc, rb.Processes)
                                 else [proc])]
    # perf follows the threads there when it starts: wait for the Kafka
    # clients' (a group join, seconds, comes before the first record).
    h.wait_for(lambda: all(broker_threads(pid) >= 2 for pid in pids), 60,
               "the application's Kafka clients")
    perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", str(FREQ),
                             "--call-graph", "dwarf,16384", "-p", ",".join(pids), "-o", data],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        result = (rb.paced_measure(env, bootstrap, scenario, proc, tag, count) if PACED else
                  rb.bench_json(["watch", "--bootstrap", bootstrap, "--topic", "out-" + tag,
                                 "--partitions", str(rb.PARTITIONS), "--expect", str(count),
                                 *rb.pid_args(proc), "--timeout", "300"]))
    finally:
        perf.send_signal(signal.SIGINT)
        perf.wait()
        rb.stop_app(env, proc)
    script = subprocess.run(["perf", "script", "-i", data, "-F", "comm,tid,ip,sym,dso"],
                            capture_output=True, text=True, check=True).stdout
    os.remove(data)
    return count, result, fold(script)


def write(scenario, count, result, stacks):
    by_thread = collections.defaultdict(collections.Counter)
    io = collections.defaultdict(lambda: [0, 0])
    for (thread, frames), n in stacks.items():
        by_thread[thread][component(frames)] += n
        io[thread][0] += n * any(RECEIVING.search(f) for f in frames)
        io[thread][1] += n * any(SENDING.search(f) for f in frames)
    main = max((t for t in by_thread if not t.startswith("rdk:")),
               key=lambda t: sum(by_thread[t].values()), default=None)
    table = collections.defaultdict(collections.Counter)
    for thread, comps in by_thread.items():
        table[thread_kind(thread, io[thread], main)].update(comps)
    us = 1e6 / FREQ / count  # one sample, in µs per record
    lines = [f"CPU account of {scenario.name}: {count:,} records, {rb.machine()}; perf "
             f"cpu-clock at {FREQ} Hz "
             + (f"while the records came at {int(PACED):,}/s (after a warm-up)" if PACED
                else "over the whole run (start-up included)") + ", µs per record",
             "", "| thread | component | CPU µs per record |", "|---|---|---:|"]
    total = 0
    for kind in sorted(table, key=lambda k: -sum(table[k].values())):
        for comp, n in table[kind].most_common():
            if n * us >= 0.005:
                lines.append(f"| {kind} | {comp} | {n * us:.3f} |")
        lines.append(f"| {kind} | **all** | **{sum(table[kind].values()) * us:.3f}** |")
        total += sum(table[kind].values())
    lines += [f"| all threads | **all** | **{total * us:.3f}** |", "",
              f"The same run by /proc: {result['cpu_s_per_million']:.2f} CPU-s per million "
              "records between the first output and the last"
              + (" and every input committed" if scenario.group else "")
              + f", {result['msgs_per_s']:,.0f} records/s."]
    base = os.path.join(OUT, f"cpu-account-{scenario.name}")
    with open(base + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(base + ".folded", "w") as f:
        for (thread, frames), n in stacks.items():
            f.write(";".join([thread, *reversed(frames)]).replace(" ", "_") + f" {n}\n")
    with open(base + ".json", "w") as f:
        json.dump({"scenario": scenario.name, "records": count, "machine": rb.machine(),
                   "us_per_record": {k: {c: n * us for c, n in v.items()}
                                     for k, v in table.items()}, "watch": result}, f, indent=1)
    print("\n".join(lines), flush=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    known = {s.name: s for s, _ in rb.SCENARIOS}
    unknown = [n for n in NAMES if n not in known]
    if unknown:
        sys.exit(f"no scenario {', '.join(unknown)} (there are: {', '.join(known)})")
    for name in NAMES:
        scenario = known[name]
        with h.Env() as env:
            bootstrap = env.start_broker(rb.phase_topics(scenario, "tp0"), prefix=rb.TOOLS_CPU)
            write(scenario, *account(env, bootstrap, scenario))


if __name__ == "__main__":
    main()
