#!/usr/bin/env bash
# build.sh BUILD_DIR [cmake args...] [-- TARGET...]: configures (once) and
# builds the tree, or only the targets after --.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$1
shift
args=()
targets=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then
    shift
    targets=("$@")
    break
  fi
  args+=("$1")
  shift
done
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja "${args[@]}" >/dev/null
fi
if [ ${#targets[@]} -eq 0 ]; then
  cmake --build "$build" -j "$(nproc)"
else
  cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"
fi
