#include "config/deployment_config.h"

#include "config/step_readers.h"
#include "config/yaml_reader.h"

namespace streams::config {
namespace {

constexpr long long kMaxMs = 24LL * 3600 * 1000;

void read_offset_reset(YamlReader& r, const YAML::Node& node, const std::string& key,
                       StepDeployment* step) {
  auto text = r.string(node, key, "auto_offset_reset", false);
  if (!text) return;
  if (*text == "earliest")
    step->auto_offset_reset = OffsetReset::earliest;
  else if (*text == "latest")
    step->auto_offset_reset = OffsetReset::latest;
  else if (*text == "error")
    step->auto_offset_reset = OffsetReset::error;
  else
    r.error(node["auto_offset_reset"], join_key(key, "auto_offset_reset"),
            "expected one of earliest, latest, error; got '" + *text + "'");
}

// `parallelism` is an integer, or the original's mapping form
// ({multi_process: {processes: N, ...}}), which is read as N.
void read_parallelism(YamlReader& r, const YAML::Node& node, const std::string& key,
                      StepDeployment* step) {
  YAML::Node p = node["parallelism"];
  if (!p || p.IsNull()) return;
  const std::string path = join_key(key, "parallelism");
  if (p.IsMap()) {
    YAML::Node mp = p["multi_process"];
    if (mp && mp.IsMap()) {
      if (auto n = r.integer(mp, join_key(path, "multi_process"), "processes", 1, 1024)) {
        step->parallelism = static_cast<int>(*n);
      }
      return;
    }
    if (p["threads"]) {  // the original's GCSSink's upload threads
      if (r.integer(p, path, "threads", 1, 1024)) {
        r.warn(p["threads"], join_key(path, "threads"),
               "a GCSSink's upload threads in the original; not applied here");
      }
      return;
    }
    r.error(p, path, "expected an integer, {multi_process: {processes: N}} or {threads: N}");
    return;
  }
  if (auto n = r.integer(node, key, "parallelism", 1, 1024))
    step->parallelism = static_cast<int>(*n);
}

void read_dlq(YamlReader& r, const YAML::Node& node, const std::string& key, DlqDeployment* dlq) {
  YAML::Node d = node["dlq"];
  if (!d || d.IsNull()) return;
  const std::string path = join_key(key, "dlq");
  dlq->location = r.at(d, path);
  if (!r.expect_map(d, path)) return;
  r.check_keys(d, path, {"topic", "bootstrap_servers", "override_params"});
  if (auto topic = r.string(d, path, "topic", true)) {
    dlq->topic = *topic;
    if (topic->empty()) r.error(d["topic"], join_key(path, "topic"), "expected a topic name");
  }
  if (auto servers = r.string_list(d, path, "bootstrap_servers")) {
    dlq->bootstrap_servers = *servers;
  }
  dlq->override_params = r.string_map(d, path, "override_params");
}

void read_error_limits(YamlReader& r, const YAML::Node& node, const std::string& key,
                       ErrorLimits* limits) {
  YAML::Node l = node["error_limits"];
  if (!l || l.IsNull()) return;
  const std::string path = join_key(key, "error_limits");
  if (!r.expect_map(l, path)) return;
  r.check_keys(l, path, {"max_consecutive_failures", "max_failure_ratio", "ratio_window"});
  if (auto n = r.integer(l, path, "max_consecutive_failures", 0, 1 << 30)) {
    limits->max_consecutive_failures = static_cast<uint32_t>(*n);
  }
  if (auto ratio = r.number(l, path, "max_failure_ratio", 0, 1)) {
    limits->max_failure_ratio = *ratio;
  }
  if (auto n = r.integer(l, path, "ratio_window", 1, 1 << 20)) {
    limits->ratio_window = static_cast<uint32_t>(*n);
  }
}

// sentry_sdk_config at `parent` (the top, or adapter_config.arroyo).
void read_sentry(YamlReader& r, const YAML::Node& node, const std::string& parent,
                 SentryDeployment* out) {
  const std::string key = join_key(parent, "sentry_sdk_config");
  if (!node || node.IsNull() || !r.expect_map(node, key)) return;
  r.check_keys(node, key, {"dsn", "environment"},
               "a setting of Sentry's SDK this host does not read");
  if (!out->dsn.empty()) {
    r.error(node, key,
            "a second sentry_sdk_config (the first at line " + std::to_string(out->location.line) +
                "); keep one");
    return;
  }
  SentryDeployment sentry;
  sentry.location = r.at(node, key);
  if (auto env = r.string(node, key, "environment", false)) sentry.environment = *env;
  const YAML::Node given = node["dsn"];
  if (given && given.IsScalar() && given.Scalar().empty()) return;  // off, as in Sentry's SDKs
  const auto dsn = r.string(node, key, "dsn", true);
  if (!dsn) return;
  std::string why;
  if (!parse_sentry_dsn(*dsn, &sentry, &why)) {
    r.error(node["dsn"], join_key(key, "dsn"),
            "expected a Sentry DSN (https://KEY@HOST/PROJECT_ID): " + why);
    return;
  }
  sentry.dsn = *dsn;
  *out = std::move(sentry);
}

void read_metrics(YamlReader& r, const YAML::Node& m, MetricsDeployment* out) {
  using Type = MetricsDeployment::Type;
  if (!m || m.IsNull()) return;
  out->location = r.at(m, "metrics");
  if (!r.expect_map(m, "metrics")) return;
  r.check_keys(m, "metrics",
               {"type", "host", "port", "tags", "period_sec", "flush_interval_ms", "udp_queue_size",
                "names"});
  auto type = r.string(m, "metrics", "type", true);
  if (!type) return;
  if (*type == "dummy")
    out->type = Type::dummy;
  else if (*type == "log")
    out->type = Type::log;
  else if (*type == "datadog")
    out->type = Type::datadog;
  else if (*type == "prometheus")
    out->type = Type::prometheus;
  else
    r.error(m["type"], "metrics.type",
            "expected one of dummy, log, datadog, prometheus; got '" + *type + "'");
  if (auto host = r.string(m, "metrics", "host", false)) out->host = *host;
  if (auto port = r.integer(m, "metrics", "port", 1, 65535)) out->port = static_cast<int>(*port);
  if (out->type == Type::datadog && out->port == 0) out->port = 8125;
  if (out->type == Type::prometheus && out->port == 0) {
    r.error(m, "metrics.port", "required with type prometheus (the port of GET /metrics)");
  }
  out->tags = r.string_map(m, "metrics", "tags");
  if (auto period = r.number(m, "metrics", "period_sec", 0.01, 3600)) out->period_sec = *period;
  if (auto ms = r.integer(m, "metrics", "flush_interval_ms", 10, 3600000)) {
    out->period_sec = static_cast<double>(*ms) / 1000;
  }
  if (auto n = r.integer(m, "metrics", "udp_queue_size", 0, 1000000)) {
    out->udp_queue_size = static_cast<int>(*n);
  }
  if (auto names = r.string(m, "metrics", "names", false)) {
    if (*names == "streams" || *names == "original" || *names == "both") {
      out->streams_names = *names != "original";
      out->original_names = *names != "streams";
    } else {
      r.error(m["names"], "metrics.names",
              "expected streams, original (Sentry Streams' metric names) or both; got '" + *names +
                  "'");
    }
    if (out->type != Type::datadog) {
      r.warn(m["names"], "metrics.names", "is read with type datadog only");
    }
  }
}

// A Python timedelta's keywords ({seconds: 20}, {minutes: 1, seconds: 30})
// in ms; nullopt when reported.
std::optional<int64_t> read_timedelta(YamlReader& r, const YAML::Node& delta,
                                      const std::string& at) {
  if (!r.expect_map(delta, at)) return std::nullopt;
  static const std::pair<const char*, double> kUnits[] = {
      {"weeks", 7 * 24 * 3600e3}, {"days", 24 * 3600e3}, {"hours", 3600e3},     {"minutes", 60e3},
      {"seconds", 1e3},           {"milliseconds", 1},   {"microseconds", 1e-3}};
  r.check_keys(delta, at,
               {"weeks", "days", "hours", "minutes", "seconds", "milliseconds", "microseconds"});
  double ms = 0;
  for (const auto& [unit, scale] : kUnits) {
    if (auto v = r.number(delta, at, unit, 0, static_cast<double>(kMaxMs))) ms += *v * scale;
  }
  if (ms < 1 || ms > static_cast<double>(kMaxMs)) {
    r.error(delta, at, "expected a duration of 1 ms to a week, got " + std::to_string(ms) + " ms");
    return std::nullopt;
  }
  return static_cast<int64_t>(ms);
}

// The original's overrides of a step's own settings: a Batch's batch_size
// and batch_timedelta, a DevNullSink's batch_size, batch_time_ms and sleep
// times, a GCSSink's bucket.
void read_overrides(YamlReader& r, const YAML::Node& node, const std::string& key,
                    StepOverrides* out) {
  if (auto n = r.integer(node, key, "batch_size", 1, kMaxCount)) out->batch_size = *n;
  if (const YAML::Node delta = node["batch_timedelta"]; delta && !delta.IsNull()) {
    out->batch_wait_ms = read_timedelta(r, delta, join_key(key, "batch_timedelta"));
  }
  if (auto ms = r.number(node, key, "batch_time_ms", 1, static_cast<double>(kMaxMs))) {
    if (out->batch_wait_ms) {
      r.error(node["batch_time_ms"], join_key(key, "batch_time_ms"),
              "expected batch_time_ms or batch_timedelta, not both");
    }
    out->batch_wait_ms = static_cast<int64_t>(*ms);
    out->wait_key = "batch_time_ms";
  }
  const double most = static_cast<double>(kMaxMs);
  out->average_sleep_ms = r.number(node, key, "average_sleep_time_ms", 0, most);
  out->max_sleep_ms = r.number(node, key, "max_sleep_time_ms", 0, most);
  out->bucket = r.string(node, key, "bucket", false);
}

StepDeployment read_step(YamlReader& r, const std::string& name, const YAML::Node& node,
                         const std::string& key) {
  StepDeployment step;
  step.name = name;
  step.location = r.at(node, key);
  if (node.IsNull()) return step;
  if (!r.expect_map(node, key)) return step;
  // The original lets a step's settings hold anything (a step of its own
  // kind's keys): unknown keys are warnings.
  r.check_keys(
      node, key,
      {"bootstrap_servers", "consumer_group", "topic", "auto_offset_reset", "override_params",
       "starts_segment", "parallelism", "commit_interval_ms", "drain_timeout_ms", "error_policy",
       "dlq", "error_limits", "max_in_flight_messages", "max_in_flight_bytes", "crash_limit",
       "strict_offset_reset", "changelog_topic", "control_topic", "config",
       // the original's overrides (read_overrides)
       "batch_size", "batch_timedelta", "batch_time_ms", "average_sleep_time_ms",
       "max_sleep_time_ms", "bucket"},
      "a step setting of the original's this host does not read");
  read_overrides(r, node, key, &step.overrides);
  if (auto servers = r.string_list(node, key, "bootstrap_servers")) {
    step.bootstrap_servers = *servers;
    if (servers->empty()) {
      r.error(node["bootstrap_servers"], join_key(key, "bootstrap_servers"),
              "expected at least one HOST:PORT");
    }
  }
  if (auto group = r.string(node, key, "consumer_group", false)) step.consumer_group = *group;
  if (auto topic = r.string(node, key, "topic", false)) step.topic = *topic;
  if (auto topic = r.string(node, key, "changelog_topic", false)) step.changelog_topic = *topic;
  if (auto topic = r.string(node, key, "control_topic", false)) step.control_topic = *topic;
  read_offset_reset(r, node, key, &step);
  if (auto strict = r.boolean(node, key, "strict_offset_reset")) {
    step.strict_offset_reset = *strict;
  }
  if (YAML::Node config = node["config"]; config && !config.IsNull()) {
    if (r.expect_map(config, join_key(key, "config"))) {
      step.config_json = r.json(config, join_key(key, "config"));
    }
  }
  step.override_params = r.string_map(node, key, "override_params");
  if (auto starts = r.boolean(node, key, "starts_segment")) step.starts_segment = *starts;
  read_parallelism(r, node, key, &step);
  if (auto ms = r.integer(node, key, "commit_interval_ms", 1, kMaxMs)) {
    step.commit_interval_ms = static_cast<int>(*ms);
    step.commit_interval_set = true;
  }
  if (auto ms = r.integer(node, key, "drain_timeout_ms", 0, kMaxMs)) {
    step.drain_timeout_ms = static_cast<int>(*ms);
  }
  if (auto n = r.integer(node, key, "max_in_flight_messages", 1, 100000000)) {
    step.max_in_flight_messages = static_cast<uint32_t>(*n);
    step.max_in_flight_messages_set = true;
  }
  if (auto n = r.integer(node, key, "max_in_flight_bytes", 1024, 1LL << 40)) {
    step.max_in_flight_bytes = static_cast<uint64_t>(*n);
  }
  if (auto policy = r.string(node, key, "error_policy", false)) {
    step.error_policy_set = true;
    if (!parse_error_policy(*policy, &step.error_policy)) {
      r.error(node["error_policy"], join_key(key, "error_policy"),
              "expected fail or skip-and-count, got '" + *policy + "'");
    }
  }
  if (auto n = r.integer(node, key, "crash_limit", 0, 1000)) {
    step.crash_limit = static_cast<uint32_t>(*n);
  }
  read_dlq(r, node, key, &step.dlq);
  read_error_limits(r, node, key, &step.error_limits);
  if (step.error_policy_set && !step.dlq.topic.empty()) {
    r.error(node["error_policy"], join_key(key, "error_policy"),
            "a source with a dlq sends failed records there; error_policy applies only "
            "without one (remove one of the two)");
  }
  return step;
}

// pipeline.adapter_config: the original's per-runtime settings: arroyo's
// write_healthcheck and sentry_sdk_config.
void read_adapter_config(YamlReader& r, const YAML::Node& node, DeploymentConfig* out) {
  const std::string key = "pipeline.adapter_config";
  if (!node || node.IsNull() || !r.expect_map(node, key)) return;
  r.check_keys(node, key, {"arroyo"}, "settings of another runtime of the original's");
  YAML::Node arroyo = node["arroyo"];
  const std::string akey = join_key(key, "arroyo");
  if (!arroyo || arroyo.IsNull() || !r.expect_map(arroyo, akey)) return;
  r.check_keys(arroyo, akey, {"write_healthcheck", "sentry_sdk_config"});
  if (auto w = r.boolean(arroyo, akey, "write_healthcheck")) out->write_healthcheck = *w;
  read_sentry(r, arroyo["sentry_sdk_config"], akey, &out->sentry);
}

void read_segments(YamlReader& r, const YAML::Node& pipeline, DeploymentConfig* out) {
  const std::string key = "pipeline";
  if (!r.expect_map(pipeline, key)) return;
  r.check_keys(pipeline, key, {"segments", "adapter_config"});
  read_adapter_config(r, pipeline["adapter_config"], out);
  YAML::Node segments = pipeline["segments"];
  if (!segments) {
    r.error(pipeline, "pipeline.segments", "required key is missing (expected a list)");
    return;
  }
  if (!r.expect_sequence(segments, "pipeline.segments")) return;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string skey = index_key("pipeline.segments", i);
    YAML::Node seg = segments[i];
    SegmentDeployment segment;
    segment.location = r.at(seg, skey);
    if (r.expect_map(seg, skey)) {
      r.check_keys(seg, skey, {"steps_config", "parallelism"});
      if (seg["parallelism"]) {
        r.warn(seg["parallelism"], join_key(skey, "parallelism"),
               "not applied here: set parallelism (processing threads) in the steps_config of "
               "the segment's first step");
      }
      YAML::Node steps = seg["steps_config"];
      const std::string ckey = join_key(skey, "steps_config");
      if (steps && !steps.IsNull() && r.expect_map(steps, ckey)) {
        for (const auto& kv : steps) {
          const std::string name = kv.first.Scalar();
          segment.steps_config[name] = read_step(r, name, kv.second, join_key(ckey, name));
        }
      }
    }
    out->segments.push_back(std::move(segment));
  }
}

}  // namespace

const char* to_string(OffsetReset reset) {
  switch (reset) {
    case OffsetReset::earliest:
      return "earliest";
    case OffsetReset::latest:
      return "latest";
    case OffsetReset::error:
      return "error";
  }
  return "latest";
}

const char* to_string(ErrorPolicy policy) {
  return policy == ErrorPolicy::fail ? "fail" : "skip-and-count";
}

bool parse_error_policy(const std::string& text, ErrorPolicy* out) {
  if (text != "fail" && text != "skip-and-count") return false;
  *out = text == "fail" ? ErrorPolicy::fail : ErrorPolicy::skip_and_count;
  return true;
}

bool parse_sentry_dsn(const std::string& dsn, SentryDeployment* out, std::string* why) {
  const size_t scheme_end = dsn.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : dsn.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    *why = "'" + dsn + "' does not start with https:// or http://";
    return false;
  }
  const size_t at = dsn.find('@', scheme_end + 3);
  const size_t path_start = dsn.find('/', scheme_end + 3);
  if (at == std::string::npos || (path_start != std::string::npos && path_start < at)) {
    *why = "no KEY@ before the host";
    return false;
  }
  const std::string keys = dsn.substr(scheme_end + 3, at - scheme_end - 3);
  const size_t colon = keys.find(':');
  out->public_key = keys.substr(0, colon);
  out->secret_key = colon == std::string::npos ? "" : keys.substr(colon + 1);
  const size_t host_end = dsn.find('/', at + 1);
  const std::string host = dsn.substr(at + 1, host_end - at - 1);
  const size_t last_slash = dsn.rfind('/');
  const std::string project = host_end == std::string::npos ? "" : dsn.substr(last_slash + 1);
  if (out->public_key.empty() || host.empty() || project.empty()) {
    *why = out->public_key.empty() ? "the key before @ is empty"
           : host.empty()          ? "no host after @"
                                   : "no /PROJECT_ID after the host";
    return false;
  }
  // Any path between the host and the project id stays (Sentry behind a prefix).
  out->envelope_url =
      scheme + "://" + dsn.substr(at + 1, last_slash - at - 1) + "/api/" + project + "/envelope/";
  return true;
}

bool load_deployment_config(const std::string& path, DeploymentConfig* out, Diagnostics& diag,
                            bool require_env) {
  YamlReader r(path, diag, /*resolve_env=*/true, require_env);
  YAML::Node root = r.load();
  if (!diag.ok()) return false;
  out->path = path;
  if (!r.expect_map(root, "")) return false;
  r.check_keys(root, "",
               {"env", "pipeline", "metrics", "plugins_dir", "python_path", "sentry_sdk_config",
                "state_dir", "state_backend", "state_flush_interval_ms"});
  read_sentry(r, root["sentry_sdk_config"], "", &out->sentry);
  read_metrics(r, root["metrics"], &out->metrics);
  if (auto dir = r.string(root, "", "plugins_dir", false)) out->plugins_dir = *dir;
  if (auto dir = r.string(root, "", "state_dir", false)) out->state_dir = *dir;
  if (auto backend = r.string(root, "", "state_backend", false)) {
    if (*backend == "rocksdb" || *backend == "memory") {
      out->state_backend = *backend;
    } else {
      r.error(root["state_backend"], "state_backend",
              "expected rocksdb or memory, got '" + *backend + "'");
    }
  }
  if (auto ms = r.integer(root, "", "state_flush_interval_ms", 0, int64_t{1} << 40)) {
    out->state_flush_interval_ms = *ms;
  }
  if (auto dirs = r.string_list(root, "", "python_path")) {
    const size_t slash = path.rfind('/');
    const std::string base = slash == std::string::npos ? "." : path.substr(0, slash + 1);
    for (const std::string& dir : *dirs) {
      out->python_path.push_back(dir.empty() || dir[0] == '/' ? dir : base + dir);
    }
  }
  YAML::Node pipeline = root["pipeline"];
  if (!pipeline) {
    r.error(root, "pipeline", "required key is missing (expected {segments: [...]})");
  } else {
    read_segments(r, pipeline, out);
  }
  return diag.ok();
}

}  // namespace streams::config
