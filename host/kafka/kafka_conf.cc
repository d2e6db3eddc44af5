#include "kafka/kafka_conf.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <utility>
#include <vector>

#include "common/log.h"
#include "config/connection_settings.h"
#include "config/step_readers.h"
#include "state/changelog.h"

namespace streams::kafka {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

// What matters to an operator also arrives through the error callback,
// except a consumer's offset reset after an error (a committed offset the
// broker no longer has), which librdkafka only logs, as a warning.
constexpr int kWarning = 4;  // syslog's LOG_WARNING

// `message` without the librdkafka thread that logged it.
std::string_view without_thread(const char* message) {
  std::string_view text = message;
  if (text.rfind("[thrd:", 0) == 0) {
    const size_t end = text.find("]: ");
    if (end != std::string_view::npos) text.remove_prefix(end + 3);
  }
  return text;
}

void log_cb(const rd_kafka_t*, int level, const char* facility, const char* message) {
  if (level <= kWarning && std::strcmp(facility, "OFFSET") == 0) {
    log::warn("consumer: " + std::string(without_thread(message)));
    return;
  }
  if (!log::enabled(log::Level::debug)) return;
  log::debug("rdkafka " + std::to_string(level) + " " + facility + ": " + message);
}

// A tool has no error callback: librdkafka's warnings and errors (a broker
// it cannot reach, a refused SASL handshake) are its only word on why.
void tool_log_cb(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  if (level > kWarning) return log_cb(rk, level, facility, message);
  log::warn("kafka " + std::string(rd_kafka_name(rk)) + ": " +
            std::string(without_thread(message)));
}

// Settings from a deployment file, at `where` (its override_params).
struct Layer {
  const Params& params;
  const config::Location& where;
};

// The conf of the client of step `step`: `layers` (from the file) are
// applied after `defaults`, in order: a later layer's key wins.
rd_kafka_conf_t* build(const config::Location& step, const Params& defaults,
                       std::initializer_list<Layer> layers, std::string* error) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // A default comes from the step's settings (bootstrap_servers, bounds).
  auto set = [&](const std::pair<std::string, std::string>& kv, const Layer* layer) {
    std::string why;
    if (set_setting(conf, kv.first, kv.second, &why)) return true;
    config::Location at = layer ? layer->where : step;
    if (layer) at.key += ".override_params." + kv.first;
    *error = at.to_string() + ": " + why;
    return false;
  };
  bool ok = true;
  for (const auto& kv : defaults) {
    if (!(ok = set(kv, nullptr))) break;
  }
  for (const Layer& layer : layers) {
    for (const auto& kv : layer.params) {
      if (!ok || !(ok = set(kv, &layer))) break;
    }
  }
  if (!ok) {
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  route_logs(conf);
  return conf;
}

Params producer_defaults(const std::vector<std::string>& servers, const std::string& client_id) {
  return {
      {"bootstrap.servers", join_brokers(servers)},
      {"client.id", client_id},
      {"enable.idempotence", "true"},
      // Batches still form while requests are in flight; a longer linger
      // buys larger batches (fewer requests) for latency.
      {"linger.ms", "1"},
      // Transient failures are retried (with backoff) until delivered: a
      // sink that is down holds its outputs, and backpressure the input.
      {"message.timeout.ms", "0"},
      // Queue sizes and broker round trips for the metrics (see stats_cb).
      {"statistics.interval.ms", "5000"},
  };
}

}  // namespace

std::string join_brokers(const std::vector<std::string>& servers) {
  std::string out;
  for (const auto& s : servers) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::pair<std::string, std::string>> control_settings(const pipeline::Generation& g) {
  const config::StepDeployment& source = g.source_deployment();
  Params out{{"bootstrap.servers", join_brokers(source.bootstrap_servers)}};
  for (auto& kv : config::connection_settings(source.override_params)) out.push_back(kv);
  return out;
}

void route_logs(rd_kafka_conf_t* conf) { rd_kafka_conf_set_log_cb(conf, &log_cb); }

void route_tool_logs(rd_kafka_conf_t* conf) { rd_kafka_conf_set_log_cb(conf, &tool_log_cb); }

std::string printable_setting(const std::string& key, const std::string& value) {
  return key + "=" + (config::is_secret_setting(key) ? "(hidden)" : value);
}

bool set_setting(rd_kafka_conf_t* conf, const std::string& key, const std::string& value,
                 std::string* error) {
  char reason[512];
  const rd_kafka_conf_res_t res =
      rd_kafka_conf_set(conf, key.c_str(), value.c_str(), reason, sizeof reason);
  if (res == RD_KAFKA_CONF_OK) return true;
  *error = (res == RD_KAFKA_CONF_UNKNOWN ? key : printable_setting(key, value)) + ": " + reason;
  return false;
}

int fetch_wait_ms(std::string_view cluster_id) {
  constexpr std::string_view kMock = "mockCluster";
  return cluster_id.empty() || cluster_id.substr(0, kMock.size()) == kMock ? kDevBrokerFetchWaitMs
                                                                           : kKafkaFetchWaitMs;
}

bool overrides_fetch_wait(const pipeline::Generation& g) {
  const auto& params = g.source_deployment().override_params;
  return std::any_of(params.begin(), params.end(),
                     [](const auto& kv) { return kv.first == "fetch.wait.max.ms"; });
}

rd_kafka_conf_t* consumer_conf(const pipeline::Generation& g, const std::string& client_id,
                               std::string* error, int fetch_wait) {
  const auto& step = g.source_deployment();
  Params defaults = {
      {"bootstrap.servers", join_brokers(step.bootstrap_servers)},
      {"group.id", g.consumer_group()},
      {"client.id", client_id},
      // Strict: KafkaSource applies the policy itself, to partitions
      // without a committed offset only; librdkafka fails the others.
      {"auto.offset.reset",
       step.strict_offset_reset ? "error" : config::to_string(step.auto_offset_reset)},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      // librdkafka 2.0.2 stalls fetching below this (see KAFKA_DEV_NOTES.md).
      {"queued.min.messages", "1000000"},
      // See fetch_wait_ms().
      {"fetch.wait.max.ms", std::to_string(fetch_wait)},
      // Consumer lag and broker round trips for the metrics (see stats_cb).
      {"statistics.interval.ms", "5000"},
  };
  error->clear();
  return build(step.location, defaults, {{step.override_params, step.location}}, error);
}

rd_kafka_conf_t* producer_conf(const pipeline::Generation& g, size_t sink,
                               const std::string& client_id, std::string* error) {
  const auto& step = g.sink_deployment(sink);
  Params defaults = producer_defaults(step.bootstrap_servers, client_id);
  // The runtime pauses at max_in_flight_*; the queue stops writes at twice that.
  defaults.emplace_back(
      "queue.buffering.max.messages",
      std::to_string(std::min<uint64_t>(2ull * step.max_in_flight_messages, 2147483647ull)));
  defaults.emplace_back(
      "queue.buffering.max.kbytes",
      std::to_string(std::min<uint64_t>(2 * step.max_in_flight_bytes / 1024, 2147483647ull)));
  error->clear();
  const config::StepDeployment& source = g.source_deployment();
  const Params inherited = config::same_brokers(step.bootstrap_servers, source.bootstrap_servers)
                               ? config::connection_settings(source.override_params)
                               : Params{};
  return build(step.location, defaults,
               {{inherited, source.location}, {step.override_params, step.location}}, error);
}

rd_kafka_conf_t* dlq_producer_conf(const pipeline::Generation& g, const std::string& client_id,
                                   std::string* error) {
  const config::StepDeployment& source = g.source_deployment();
  const config::DlqDeployment& dlq = source.dlq;
  const bool on_source = config::dlq_on_source_brokers(source);
  const Params inherited =
      on_source ? config::connection_settings(source.override_params) : Params{};
  error->clear();
  return build(
      dlq.location,
      producer_defaults(on_source ? source.bootstrap_servers : dlq.bootstrap_servers, client_id),
      {{inherited, source.location}, {dlq.override_params, dlq.location}}, error);
}

rd_kafka_conf_t* changelog_producer_conf(const pipeline::Generation& g,
                                         const std::string& client_id, std::string* error) {
  const config::StepDeployment& source = g.source_deployment();
  Params defaults = producer_defaults(source.bootstrap_servers, client_id + "-changelog");
  // The writer hands a checkpoint's changes over a window at a time
  // (kafka/changelog.cc); the queue takes more than a window.
  defaults.emplace_back("queue.buffering.max.messages", "1000000");
  // Every value a step may put (a reload may raise its max_value_bytes up
  // to the bound): librdkafka's default of 1,000,000 refused a 1 MiB one.
  defaults.emplace_back("message.max.bytes",
                        std::to_string(state::changelog_record_bytes(config::kMaxStateValueBytes)));
  defaults.emplace_back("linger.ms", "5");
  error->clear();
  return build(source.location, defaults, {{source.override_params, source.location}}, error);
}

rd_kafka_conf_t* changelog_consumer_conf(const pipeline::Generation& g,
                                         const std::string& client_id, std::string* error) {
  const config::StepDeployment& source = g.source_deployment();
  Params defaults = {
      {"bootstrap.servers", join_brokers(source.bootstrap_servers)},
      {"client.id", client_id + "-restore"},
      {"enable.partition.eof", "true"},
      {"queued.min.messages", "1000000"},
      {"fetch.wait.max.ms", "5"},
  };
  error->clear();
  return build(source.location, defaults, {{source.override_params, source.location}}, error);
}

bool legal_topic(const std::string& topic) {
  if (topic.empty() || topic.size() > 249 || topic == "." || topic == "..") return false;
  for (char c : topic) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

// The topics of the source and the DLQ: legal names, and no loop back
// into the source on its own cluster.
void check_topics(const pipeline::Generation& g, config::Diagnostics& diag) {
  const std::string source = g.source_topic();
  const config::StepDeployment& s = g.source_deployment();
  check_topic(source, g.pipeline.source.location, diag);
  if (!s.control_topic.empty()) {
    config::Location at = s.location;
    at.key += at.key.empty() ? "control_topic" : ".control_topic";
    check_topic(s.control_topic, at, diag);
  }
  if (s.dlq.topic.empty()) return;
  config::Location at = s.dlq.location;
  at.key += at.key.empty() ? "topic" : ".topic";
  check_topic(s.dlq.topic, at, diag);
  if (s.dlq.topic == source && config::dlq_on_source_brokers(s)) {
    diag.error(at, "the dead-letter queue is the source topic " + source +
                       ": a failed record would be read and fail again, endlessly");
  }
}

}  // namespace

void check_topic(const std::string& topic, config::Location at, config::Diagnostics& diag) {
  if (legal_topic(topic)) return;
  diag.error(at, "'" + topic +
                     "' is not a valid Kafka topic name (1 to 249 of letters, digits, '.', "
                     "'_' and '-', not '.' or '..')");
}

void check_client(rd_kafka_conf_t* conf, bool consumer, const config::Location& where,
                  config::Diagnostics& diag) {
  char reason[512];
  if (rd_kafka_conf_set(conf, "bootstrap.servers", "", reason, sizeof reason) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    diag.error(where, reason);
    return;
  }
  rd_kafka_t* rk =
      rd_kafka_new(consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
  if (rk) {
    rd_kafka_destroy(rk);  // it owned conf
    return;
  }
  rd_kafka_conf_destroy(conf);
  const std::string message =
      std::string("librdkafka refuses these settings (override_params): ") + reason;
  // Every client on the source's brokers takes its connection settings: one
  // mistake there is reported once, at the first client (the source).
  for (const std::string& e : diag.errors()) {
    if (e.size() >= message.size() &&
        e.compare(e.size() - message.size(), message.size(), message) == 0) {
      return;
    }
  }
  diag.error(where, message);
}

void check_kafka_confs(const pipeline::Generation& g, config::Diagnostics& diag) {
  check_topics(g, diag);
  std::string error;
  const config::StepDeployment& source = g.source_deployment();
  if (rd_kafka_conf_t* c = consumer_conf(g, "validate", &error))
    check_client(c, true, source.location, diag);
  else
    diag.error(config::Location{}, error);
  if (source.dlq.topic.empty()) return;
  if (rd_kafka_conf_t* p = dlq_producer_conf(g, "validate", &error))
    check_client(p, false, source.dlq.location, diag);
  else
    diag.error(config::Location{}, error);
}

}  // namespace streams::kafka
