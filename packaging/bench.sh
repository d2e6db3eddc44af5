#!/usr/bin/env bash
# The benchmark command: installs what is missing, builds optimised, and runs
# tests/bench/run_bench.py on a dev broker. Results: build/bench/results.md,
# results.json and chart.png. Takes a few minutes; use it on an idle machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/packaging/install-deps.sh"
export CCACHE_DIR=${CCACHE_DIR:-$root/.ccache}
"$root/packaging/build.sh" "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
/usr/bin/python3 "$root/tests/bench/run_bench.py" "$root/build" "$root/build/bench" "$@"
# Sinks to data stores against psql \copy and clickhouse-client (stores.json), as the
# README measures them: 600,000 rows after a warm-up of 600,000, five runs.
/usr/bin/python3 "$root/tests/bench/store_rate.py" "$root/build" "$root/build/bench" \
  --records 600000 --repeats 5
