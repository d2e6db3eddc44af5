// The deployment config: how a pipeline runs (brokers, topics, groups,
// segments). Key names follow the original Sentry Streams deployment files so
// they apply unchanged. Immutable once loaded; shared read-only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/diagnostics.h"
#include "config/step_overrides.h"

namespace streams::config {

enum class OffsetReset { earliest, latest, error };
const char* to_string(OffsetReset reset);

// What happens to a record a step failed on when there is no DLQ: stop the
// pipeline at it (uncommitted), or log it (rate-limited), count it and go on.
enum class ErrorPolicy { fail, skip_and_count };
const char* to_string(ErrorPolicy policy);
// "fail" or "skip-and-count"; false for anything else.
bool parse_error_policy(const std::string& text, ErrorPolicy* out);

// Source only: `dlq: {topic, bootstrap_servers, override_params}`. Records a
// step failed on go to `topic` with error headers (see pipeline/dead_letters.h).
struct DlqDeployment {
  Location location;
  std::string topic;                           // empty: no DLQ
  std::vector<std::string> bootstrap_servers;  // empty: the source's
  std::vector<std::pair<std::string, std::string>> override_params;
};

// Source only: `error_limits`. With a DLQ or skip-and-count, the pipeline
// stops with an error once failures pass a limit (0: no limit).
struct ErrorLimits {
  // Inputs in a row that each failed.
  uint32_t max_consecutive_failures = 0;
  // Failed inputs over the last `ratio_window` inputs, checked once that many
  // were seen.
  double max_failure_ratio = 0;
  uint32_t ratio_window = 1000;
};

// pipeline.segments[i].steps_config.<step name>
struct StepDeployment {
  std::string name;
  Location location;
  std::vector<std::string> bootstrap_servers;
  std::string consumer_group;  // empty: pipeline-<source name>
  std::string topic;           // empty: the step's stream_name
  // Stateful steps: the changelog topic (empty: <pipeline>-<step>-changelog).
  std::string changelog_topic;
  // Source only: the topic of segment pauses on the source's brokers
  // (empty: streams-control; kafka/control_topic.h).
  std::string control_topic;
  // A plugin sink's `config:` as JSON text (${envvar:} resolved), merged
  // over the pipeline file's; empty: none.
  std::string config_json;
  OffsetReset auto_offset_reset = OffsetReset::latest;
  // Source only (the original's key): auto_offset_reset applies only to a
  // partition the group has no committed offset for; a committed offset the
  // broker no longer has (retention, a recreated topic) stops the host
  // instead of skipping to another offset. false: librdkafka's rule (the
  // policy for both).
  bool strict_offset_reset = false;
  // Raw librdkafka properties, applied after everything else.
  std::vector<std::pair<std::string, std::string>> override_params;
  bool starts_segment = false;
  int parallelism = 1;
  // The original's overrides of a step's own settings (a Batch's size, a
  // DevNullSink's sleeps), for the kinds that take them.
  StepOverrides overrides;
  // Source only: how often committable offsets are committed, and how long a
  // shutdown or revoke may wait for in-flight outputs to be acknowledged.
  // Unset (commit_interval_set false), a pipeline with state commits every
  // kStatefulCommitIntervalMs instead (kafka_runtime.cc).
  int commit_interval_ms = 1000;
  bool commit_interval_set = false;
  int drain_timeout_ms = 10000;
  // Backpressure. Source: per partition, inputs (and their bytes) not yet
  // committable; past either, the partition is paused until half drained.
  // Kafka sink: outputs (and bytes) not yet acknowledged; past either, every
  // partition pauses (the producer queue holds twice as much as a hard stop).
  // Unset (max_in_flight_messages_set false), a sink may have a default of
  // its own (OutputSink::default_max_in_flight_messages).
  uint32_t max_in_flight_messages = 100000;
  bool max_in_flight_messages_set = false;
  uint64_t max_in_flight_bytes = 64ull << 20;
  // The max_in_flight_messages a sink runs with, given its own default
  // (0: none).
  uint64_t max_in_flight_messages_with(uint64_t own) const {
    return max_in_flight_messages_set || own == 0 ? max_in_flight_messages : own;
  }
  // Source only: `error_policy: fail | skip-and-count`.
  ErrorPolicy error_policy = ErrorPolicy::fail;
  bool error_policy_set = false;
  DlqDeployment dlq;
  ErrorLimits error_limits;
  // Source only: an input that crashed the host (a fatal signal while it was
  // processed) this many times is quarantined at the next start: the step it
  // crashed in is not called on it again (0: never).
  uint32_t crash_limit = 2;
};

struct SegmentDeployment {
  Location location;
  std::map<std::string, StepDeployment> steps_config;
};

// `metrics:` at the top of the file, as in the original: where the host's
// metrics go besides GET /metrics on the admin endpoint.
//   {type: dummy}                         nowhere (the default)
//   {type: log, period_sec: 10}           a log line every period
//   {type: datadog, host, port, tags: {k: v}, period_sec: 10}
//                                         DogStatsD over UDP every period
//   {type: prometheus, port: 9100}        the admin endpoint on that port
//                                         (unless run --admin-port gives one)
struct MetricsDeployment {
  enum class Type { dummy, log, datadog, prometheus };
  Type type = Type::dummy;
  Location location;
  std::string host = "127.0.0.1";
  int port = 0;  // datadog: 8125; prometheus: required
  std::vector<std::pair<std::string, std::string>> tags;
  double period_sec = 10;  // the original's flush_interval_ms sets it too
  // datadog: at most this many metric lines a period (the original's
  // udp_queue_size); 0: no bound.
  int udp_queue_size = 0;
  // datadog `names`: streams (this host's names), original (Sentry
  // Streams' names, for the metrics that have one), or both.
  bool streams_names = true;
  bool original_names = false;
};

// `sentry_sdk_config` (at the top, or the original's
// pipeline.adapter_config.arroyo.sentry_sdk_config): the Sentry project that
// ERROR lines and record errors are reported to (host/report/).
//   {dsn: "https://KEY@HOST/PROJECT_ID", environment: production}
struct SentryDeployment {
  std::string dsn;  // empty: nothing is reported
  Location location;
  // From the DSN: where events go, and the key that signs them.
  std::string envelope_url;  // SCHEME://HOST[:PORT][/PATH]/api/PROJECT_ID/envelope/
  std::string public_key;
  std::string secret_key;   // old DSNs only
  std::string environment;  // optional
};

// Parses a Sentry DSN, SCHEME://PUBLIC_KEY[:SECRET_KEY]@HOST[:PORT][/PATH]/PROJECT_ID
// with SCHEME http or https, into `out`'s envelope_url and keys. On failure
// returns false with *why saying what is wrong.
bool parse_sentry_dsn(const std::string& dsn, SentryDeployment* out, std::string* why);

struct DeploymentConfig {
  std::string path;
  std::vector<SegmentDeployment> segments;
  std::string plugins_dir;  // empty: not set in the file
  // `python_path`: directories of the pipeline's Python modules, searched
  // before the pipeline file's own directory (relative ones resolved
  // against this file's directory).
  std::vector<std::string> python_path;
  MetricsDeployment metrics;
  SentryDeployment sentry;
  // pipeline.adapter_config.arroyo.write_healthcheck: touch the original's
  // healthcheck file (/tmp/health.txt) while processing.
  bool write_healthcheck = false;
  // Where the Kafka runtime keeps stateful steps' state: `state_dir`
  // (empty: ./state/<pipeline name>, from the working directory) and
  // `state_backend`: rocksdb (the default) or memory (lost at exit; the
  // changelog restores it).
  std::string state_dir;
  std::string state_backend = "rocksdb";
  // `state_flush_interval_ms`: how often the Kafka runtime writes committed
  // state changes into the local store. They are durable in the changelog
  // from their commit on; a store that was not flushed before a crash is
  // brought up to date from the changelog at restart (at most this much of
  // it). 0: at every commit.
  int64_t state_flush_interval_ms = 10000;
};

// Loads and checks `path`. On error returns false with `diag` filled.
// `require_env` false: an unset ${envvar:NAME} stays as written instead of
// being an error (graph, which connects to nothing).
bool load_deployment_config(const std::string& path, DeploymentConfig* out, Diagnostics& diag,
                            bool require_env = true);

}  // namespace streams::config
