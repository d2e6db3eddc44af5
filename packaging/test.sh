#!/usr/bin/env bash
# README command 2: installs what is missing, builds, and runs every test:
# the whole suite on an optimised build, then again on a Debug build with
# AddressSanitizer and UndefinedBehaviorSanitizer, then the unit and e2e
# tests where threads meet (runtime, chains, metrics, logs, reload, admin,
# health, shutdown, the stop watchdog, state restores, a segment pause) with ThreadSanitizer, whose build makes
# only what it runs (tests/unit/CMakeLists.txt). The two sanitizer builds
# are made while the optimised tests run. Every phase runs even when an
# earlier one failed; the failures are listed at the end, and the exit
# status is non-zero if there was any.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/packaging/install-deps.sh" || exit 1
export CCACHE_DIR=${CCACHE_DIR:-$root/.ccache}

failed=()
phase() {  # phase NAME COMMAND...: runs it, remembers a failure
  local name=$1
  shift
  echo "=== $name" >&2
  if ! "$@"; then
    failed+=("$name")
    echo "=== $name FAILED" >&2
  fi
}
# The e2e tests mostly wait (group joins, session timeouts, polls): a
# ctest -j2 run keeps two cores about 10% busy, so four at once halve the
# phase and each test's time stays the same (each owns its ports, directories
# and processes). The ThreadSanitizer phase, whose processes are CPU-heavy,
# keeps two.
tests() {  # tests BUILD_DIR [ENV...] [-j N] [-R|-E REGEX]: ctest in BUILD_DIR
  local dir=$1
  shift
  local env=() select=() jobs=4
  while [ $# -gt 0 ]; do
    if [ "$1" = "-R" ] || [ "$1" = "-E" ]; then
      select=("$1" "$2")
      shift 2
    elif [ "$1" = "-j" ]; then
      jobs=$2
      shift 2
    else
      env+=("$1")
      shift
    fi
  done
  (cd "$dir" && env "${env[@]}" ctest -j"$jobs" --output-on-failure --timeout 600 "${select[@]}")
}

# Debug information is line tables only (-g1): reports and backtraces name
# every frame, inlined ones too, with file and line, and the compiler writes a
# third less (local variables and types are for a debugger, not for a test
# run). A build directory configured before keeps its flags.
lines_only=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_CXX_FLAGS_DEBUG="-g1")

# The sanitizer builds run beside the optimised tests, which mostly wait, at
# the scheduler's idle priority (CPU and disk): they take only what the tests
# leave, so the tests run as they would alone. Each build's output goes to a log shown
# once it is done; its status to a file the phases below wait for.
if chrt --idle 0 true 2>/dev/null; then idle=(chrt --idle 0); else idle=(nice -n 19); fi
if ionice -c 3 true 2>/dev/null; then idle+=(ionice -c 3); fi
builds=$(mktemp -d)
trap 'rm -rf "$builds"' EXIT
build_idle() {  # build_idle NAME BUILD_DIR CMAKE_ARGS...: builds, then writes NAME.rc
  local name=$1
  shift
  "${idle[@]}" "$root/packaging/build.sh" "$@" "${lines_only[@]}" >"$builds/$name.log" 2>&1
  echo $? >"$builds/$name.rc"
}
built() {  # built NAME: waits for build_idle NAME; its log, and its status
  until [ -f "$builds/$1.rc" ]; do sleep 1; done
  cat "$builds/$1.log"
  return "$(cat "$builds/$1.rc")"
}

phase "build (optimised)" "$root/packaging/build.sh" "$root/build" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "${lines_only[@]}"
(
  build_idle asan "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DSTREAMS_SANITIZE=ON
  build_idle tsan "$root/build-tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTREAMS_TSAN=ON
) &
phase "tests (optimised)" tests "$root/build"
phase "build (ASan/UBSan)" built asan
# The kill tests kill fewer times here: the optimised phase runs them in full,
# and each kill costs a group rejoin (a session timeout) rather than checks.
# The package test packs what the optimised phase tested; packing sanitized
# binaries tells nothing more. The stores' fault drills (two minutes each,
# mostly waiting out outages and rejoins) run in the optimised phase; here
# each sink runs its e2e test of rows, refusals and the DLQ. A Rust plugin
# built from the README (rust_external) is loaded as e2e.rust_plugin's is.
phase "tests (ASan/UBSan)" tests "$root/build-asan" ASAN_OPTIONS=detect_leaks=1 \
  UBSAN_OPTIONS=print_stacktrace=1 STREAMS_TEST_KILLS=4 \
  -E '^e2e[.](deb_package|rust_external|[a-z_]+_sink_faults)$'
# A race report makes the process exit 66; every test asserts the status.
# ThreadSanitizer slows the processes 5-15 times, and two run at once: the
# bounds the e2e tests assert (an endpoint answers within a second) are
# multiplied by STREAMS_TEST_TIME_SCALE there.
phase "build (TSan)" built tsan
phase "tests (TSan)" tests "$root/build-tsan" \
  TSAN_OPTIONS="second_deadlock_stack=1 suppressions=$root/tests/tsan.supp" \
  STREAMS_BROKER_HOST="$root/build/host/streams-host" STREAMS_TEST_TIME_SCALE=5 -j 2 \
  -R '^(unit[.]|e2e[.](reload|reload_refusals|python_reload|metrics|health|shutdown|stuck_plugin|admin_token|state_two_hosts|parallelism|sentry|segment_pause|segment_pause_reload)$)'

if [ ${#failed[@]} -ne 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "all phases passed" >&2
