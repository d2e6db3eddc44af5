"""Where the run-to-run spread goes: a scheduler profile of throughput runs.

usage: sched_profile.py BUILD_DIR OUT_DIR RUNS SCENARIO [SCENARIO...]

Runs the scenarios of run_bench.py RUNS times in rounds (each run on a dev
broker of its own, as run_bench does), records every context switch of the
machine with `perf sched record -a` while the application works, and reads
per thread group, with `perf sched latency`: CPU time, switches and the mean
wait in the run queue of the dev broker's thread (rdk:mock), of librdkafka's
broker threads of every client (rdk:broker*: the application's and the
watcher's), and of the threads named streams-host (the host's own). A run
that is slow while the broker's thread does the same work and the clients'
threads do more points at the conversation between them, not at CPU taken
away. Writes
OUT_DIR/sched-profile.json and prints it. Needs perf and root.
"""
import json
import os
import re
import signal
import subprocess
import sys

if len(sys.argv) < 5:
    sys.exit(__doc__)
BUILD, OUT, RUNS, NAMES = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
# run_bench reads its own command line when imported: give it one.
sys.argv = ["run_bench.py", BUILD, OUT]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench as rb  # noqa: E402

# The dev broker runs as `streams-host dev-broker`: its main thread is in the
# last group too (a few ms a run), the only member of it but in host runs.
GROUPS = {"dev broker (rdk:mock)": "rdk:mock", "clients' broker threads (rdk:broker1)":
          "rdk:broker1", "threads named streams-host": "streams-host"}


def threads(data):
    """{group: {ms, switches, mean_delay_ms}} from a perf sched recording."""
    text = subprocess.run(["perf", "sched", "latency", "-i", data, "--sort", "runtime"],
                          capture_output=True, text=True, check=True).stdout
    out = {}
    for group, prefix in GROUPS.items():
        for line in text.splitlines():
            m = re.match(r"\s*" + re.escape(prefix) +
                         r"\S*\s*\|\s+([\d.]+) ms \|\s+(\d+) \| avg:\s+([\d.]+) ms", line)
            if m:
                out[group] = {"ms": float(m.group(1)), "switches": int(m.group(2)),
                              "mean_delay_ms": float(m.group(3))}
                break
    return out


def profiled(scenario, data):
    """scenario.start, recording the machine's switches from the start."""
    start, perf = scenario.start, []

    def wrapped(*args):
        perf.append(subprocess.Popen(["perf", "sched", "record", "-a", "-o", data],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return start(*args)
    return wrapped, perf


def main():
    os.makedirs(OUT, exist_ok=True)
    scenarios = {s.name: s for s, _ in rb.SCENARIOS}
    rows = []
    with rb.h.Env() as env:
        for run in range(RUNS):
            for name in (NAMES if run % 2 == 0 else NAMES[::-1]):
                s = scenarios[name]
                bootstrap = env.start_broker(rb.phase_topics(s, f"tp{run}"), prefix=rb.TOOLS_CPU)
                broker = env.procs[-1]
                data = env.path(f"{name}-{run}.perf")
                original = s.start
                s.start, perf = profiled(s, data)
                try:
                    count = rb.COUNT_JSON if s.payload == "json" else rb.COUNT_100B
                    result = rb.throughput(env, bootstrap, s, count, run)
                finally:
                    s.start = original
                    for p in perf:
                        p.send_signal(signal.SIGINT)
                        p.wait()
                env.stop(broker)
                rows.append({"scenario": name, "run": run, "records_per_s": result["msgs_per_s"],
                             **threads(data)})
                print(json.dumps(rows[-1]), flush=True)
    with open(os.path.join(OUT, "sched-profile.json"), "w") as f:
        json.dump({"machine": rb.machine(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
