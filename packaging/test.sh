#!/usr/bin/env bash
# README command 2: installs what is missing, builds, and runs every test:
# the whole suite on an optimised build, then again on a Debug build with
# AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/packaging/install-deps.sh"
export CCACHE_DIR=${CCACHE_DIR:-$root/.ccache}

"$root/packaging/build.sh" "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd "$root/build" && ctest -j2 --output-on-failure --timeout 600)

"$root/packaging/build.sh" "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DSTREAMS_SANITIZE=ON
(cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -j2 --output-on-failure --timeout 600)
