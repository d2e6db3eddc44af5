#!/usr/bin/env bash
# build.sh BUILD_DIR [cmake args...]: configures (once) and builds the tree.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$1
shift
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja "$@" >/dev/null
fi
cmake --build "$build" -j "$(nproc)"
