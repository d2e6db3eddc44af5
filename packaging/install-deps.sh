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
  libcurl4-openssl-dev      # HTTP (and S3) sinks: requests without blocking the processing thread
  libpq-dev                 # the PostgreSQL sink's client library
  postgresql                # a real PostgreSQL server the sink's tests start themselves
  clickhouse-server clickhouse-client  # the same for the ClickHouse sink
  libzstd-dev zstd          # the object store sink's compression, and the tests' reader
  librocksdb-dev            # the local store of platform state (host/state/)
  libgoogle-perftools-dev   # tcmalloc: the host's allocator (STREAMS_ALLOCATOR, measured)
  prometheus-cpp-dev        # the Prometheus text format of GET /metrics
  kcat python3-kafka        # independent Kafka clients for the example and e2e tests
  python3-confluent-kafka   # the Python baseline of the benchmarks
  python3-sentry-sdk        # Sentry's own envelope and DSN code: e2e.sentry reads the host's reports with it
  libbenchmark-dev          # Google Benchmark: the plugin call path microbenchmark
  gnuplot-nox               # the benchmark chart
  python3-dev               # CPython to embed: the Python bridge (python: steps)
  python3-venv              # a real virtualenv for e2e.python (the host uses $VIRTUAL_ENV's packages)
  clang-format              # the format check of the test command (ctest build.format)
  libsystemd-dev            # sd_notify: the host as a Type=notify systemd service
  dpkg-dev                  # dpkg-shlibdeps: the .deb's dependencies (cpack)
  rustc cargo               # Rust plugins: the SDK crate (plugin_sdk/rust) and its example
)

# valijson (JSON Schema validation for the parser step) is header-only, but
# its Debian package depends on every JSON library it has an adapter for,
# Qt5 and Poco included. We use only its nlohmann_json adapter, so we take
# the package's headers without those dependencies.
install_valijson() {
  [ -f /usr/include/valijson/validator.hpp ] && return 0
  [ -f /usr/local/include/valijson/validator.hpp ] && return 0
  echo "installing: valijson headers (libvalijson-dev, without its adapters' dependencies)" >&2
  local dir
  dir=$(mktemp -d)
  (cd "$dir" && apt-get download -qq libvalijson-dev >/dev/null)
  dpkg-deb -x "$dir"/libvalijson-dev_*.deb "$dir/root"
  mkdir -p /usr/local/include
  cp -r "$dir/root/usr/include/valijson" /usr/local/include/
  rm -rf "$dir"
}

# The tests start their own PostgreSQL servers: the package's default
# cluster (a server on port 5432, started at install) is not wanted.
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/streams-tests.conf
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -ne 0 ]; then
  echo "installing: ${missing[*]}" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! install_valijson 2>/dev/null; then
  apt-get update -qq
  install_valijson
fi

# The Kubernetes object schemas `e2e.render_k8s` validates `render k8s`
# against: the kubernetes-models npm package (Debian has none), version 4.x,
# the last that runs on bookworm's Node.js 18, under /usr/local/lib.
K8S_MODELS_DIR=/usr/local/lib/streams-tests
install_k8s_models() {
  [ -f "$K8S_MODELS_DIR/node_modules/kubernetes-models/package.json" ] && return 0
  if ! command -v npm >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  echo "installing: kubernetes-models (npm) under $K8S_MODELS_DIR" >&2
  mkdir -p "$K8S_MODELS_DIR"
  npm install --prefix "$K8S_MODELS_DIR" --no-audit --no-fund --loglevel=error \
    kubernetes-models@4.5.1 >/dev/null
}
install_k8s_models

# An S3-compatible server for the object store sink's tests: s3rver (npm;
# Debian has none), beside kubernetes-models.
install_s3rver() {
  [ -x "$K8S_MODELS_DIR/node_modules/.bin/s3rver" ] && return 0
  echo "installing: s3rver (npm) under $K8S_MODELS_DIR" >&2
  npm install --prefix "$K8S_MODELS_DIR" --no-audit --no-fund --loglevel=error \
    s3rver@3.7.1 >/dev/null
}
install_s3rver
