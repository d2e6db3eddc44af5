#!/usr/bin/env bash
# README command 1: installs what is missing, builds, starts a dev broker and
# the host on the simple_map_filter example, produces the sample messages in
# configs/simple_map_filter/input.jsonl, prints the transformed output, and
# stops everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/packaging/install-deps.sh"
export CCACHE_DIR=${CCACHE_DIR:-$root/.ccache}
# Only what the example runs: the host and the example's plugin. The compiler's
# output goes to a log, shown only if the build fails.
build_log=$(mktemp)
echo "== building streams-host and the ingest_metrics plugin (log: $build_log)"
started=$(date +%s)
if ! "$root/packaging/build.sh" "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -- streams-host ingest_metrics >"$build_log" 2>&1; then
  cat "$build_log"
  echo "FAILED: the build (above)" >&2
  exit 1
fi
echo "== built in $(( $(date +%s) - started )) s"

host_bin=$root/build/host/streams-host
example=$root/configs/simple_map_filter
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$host_bin" dev-broker --port "$port" --topic ingest-metrics:4 --topic transformed-events:4 \
  >"$work/broker.out" 2>"$work/broker.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^bootstrap=' "$work/broker.out" && break; sleep 0.1; done
grep -q '^bootstrap=' "$work/broker.out" || { cat "$work/broker.err"; exit 1; }
export BOOTSTRAP_SERVERS=127.0.0.1:$port
echo "== dev broker: $(cat "$work/broker.out")"

"$host_bin" run --config "$example/deployment.yaml" --plugins-dir "$root/build/plugins" \
  "$example/pipeline.yaml" 2>"$work/host.log" &
host_pid=$!
pids+=($host_pid)

kcat -P -b "$BOOTSTRAP_SERVERS" -t ingest-metrics -l "$example/input.jsonl"
echo "== produced $(wc -l <"$example/input.jsonl") messages to ingest-metrics (types c, s, d and two malformed)"

expected=$(wc -l <"$example/expected_output.jsonl")
for _ in $(seq 300); do
  kcat -C -b "$BOOTSTRAP_SERVERS" -t transformed-events -e -q >"$work/out.jsonl" 2>/dev/null || true
  [ "$(wc -l <"$work/out.jsonl")" -ge "$expected" ] && break
  sleep 0.1
done
echo "== transformed-events:"
cat "$work/out.jsonl"
kill -TERM "$host_pid"
wait "$host_pid" && status=0 || status=$?
echo "== host log (exit status $status):"
cat "$work/host.log"
if [ "$status" -eq 0 ] && diff <(sort "$work/out.jsonl") <(sort "$example/expected_output.jsonl") >/dev/null; then
  echo "OK: the $expected outputs match configs/simple_map_filter/expected_output.jsonl"
else
  echo "FAILED: the outputs differ from configs/simple_map_filter/expected_output.jsonl" >&2
  exit 1
fi
