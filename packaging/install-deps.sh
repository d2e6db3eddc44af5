#!/usr/bin/env bash
# Installs the Debian bookworm packages the build, the example and the tests
# need. Idempotent: installs only what is missing. Run as root.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  librdkafka-dev            # Kafka client (and its mock cluster, for dev-broker)
  libboost-dev              # Boost.DLL, Boost.Asio (header-only parts)
  libboost-test-dev         # Boost.Test
  libyaml-cpp-dev nlohmann-json3-dev
  libcli11-dev              # command-line parsing with --help per subcommand
  libsimdjson-dev           # JSON parsing in the example plugin
  kcat python3-kafka        # independent Kafka clients for the example and e2e tests
  python3-confluent-kafka   # the Python baseline of the benchmarks
  libbenchmark-dev          # Google Benchmark: the plugin call path microbenchmark
  gnuplot-nox               # the benchmark chart
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
