#include "metrics/snapshot.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "common/clock.h"
#include "metrics/plugin_metrics.h"

namespace streams::metrics {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Members of librdkafka's statistics, read without exceptions: a missing or
// mistyped member is absent.
const nlohmann::json* member(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

double number(const nlohmann::json& j, const char* key, double fallback) {
  const nlohmann::json* v = member(j, key);
  return v && v->is_number() ? v->get<double>() : fallback;
}

bool has_type(const nlohmann::json& stats, const char* type) {
  const nlohmann::json* v = member(stats, "type");
  return v && v->is_string() && v->get_ref<const std::string&>() == type;
}

// A producer's message sets per topic over the last statistics interval:
// how many messages and bytes each held on average (small ones cost the
// broker thread a request each).
void producer_batches(const Labels& base, const nlohmann::json& topics, std::vector<Sample>* out) {
  for (const auto& [topic, t] : topics.items()) {
    const nlohmann::json* count = member(t, "batchcnt");
    const nlohmann::json* size = member(t, "batchsize");
    if (!count || !size || number(*count, "cnt", 0) == 0) continue;  // none sent meanwhile
    Labels labels = base;
    labels.emplace_back("topic", topic);
    out->push_back({"producer_batch_messages",
                    "Average messages per message set a producer sent (last statistics interval)",
                    false, labels, number(*count, "avg", 0)});
    out->push_back({"producer_batch_bytes",
                    "Average bytes per message set a producer sent (last statistics interval)",
                    false, labels, number(*size, "avg", 0)});
  }
}

// Consumer lag per partition, queue sizes and broker round trips from one
// client's librdkafka statistics (see STATISTICS.md of librdkafka).
void client_samples(const std::string& pipeline, const std::string& client, const std::string& text,
                    std::vector<Sample>* out) {
  const nlohmann::json stats = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!stats.is_object()) return;
  const Labels base{{"pipeline", pipeline}, {"client", client}};
  if (has_type(stats, "producer")) {
    out->push_back({"producer_queue_messages", "Messages in a producer's queues", false, base,
                    number(stats, "msg_cnt", 0)});
    out->push_back({"producer_queue_bytes", "Bytes of the messages in a producer's queues", false,
                    base, number(stats, "msg_size", 0)});
  }
  if (const nlohmann::json* brokers = member(stats, "brokers"); brokers && brokers->is_object()) {
    for (const auto& [name, broker] : brokers->items()) {
      const nlohmann::json* rtt = member(broker, "rtt");
      if (!rtt || number(*rtt, "cnt", 0) == 0) continue;  // none measured in the last interval
      Labels labels = base;
      labels.emplace_back("broker", name);
      out->push_back({"broker_rtt_seconds", "Average request round trip to a broker", false, labels,
                      number(*rtt, "avg", 0) / 1e6});
    }
  }
  const nlohmann::json* topics = member(stats, "topics");
  if (!topics || !topics->is_object()) return;
  if (has_type(stats, "producer")) return producer_batches(base, *topics, out);
  if (!has_type(stats, "consumer")) return;
  for (const auto& [topic, t] : topics->items()) {
    const nlohmann::json* partitions = member(t, "partitions");
    if (!partitions || !partitions->is_object()) continue;
    for (const auto& [id, p] : partitions->items()) {
      const double lag = number(p, "consumer_lag", -1);
      if (id == "-1" || lag < 0) continue;  // not consumed here, or not known yet
      out->push_back({"consumer_lag",
                      "Messages after the committed offset of a partition",
                      false,
                      {{"pipeline", pipeline}, {"topic", topic}, {"partition", id}},
                      lag});
    }
  }
}

void add_histogram(std::vector<Sample>* out, const char* name, const char* help, Labels labels,
                   const Histogram& h) {
  Sample s{name, help, false, std::move(labels), 0, h.bounds(), h.counts(), h.sum()};
  for (uint64_t n : s.buckets) s.value += static_cast<double>(n);
  out->push_back(std::move(s));
}

// A plugin sink's numbers (metrics.h StepMetrics::sink_*).
void add_sink(std::vector<Sample>* out, const std::pair<std::string, std::string>& pipeline,
              const StepMetrics& s) {
  const Labels labels{pipeline, {"step", s.name}};
  out->push_back({"sink_rows_total", "Records a plugin sink's store took", true, labels,
                  static_cast<double>(s.sink_rows.value())});
  out->push_back({"sink_bytes_total", "Key and value bytes a plugin sink's store took", true,
                  labels, static_cast<double>(s.sink_bytes.value())});
  out->push_back({"sink_retries_total",
                  "Batches a plugin sink sent again after a retriable failure", true, labels,
                  static_cast<double>(s.sink_retries.value())});
  out->push_back({"sink_rejected_total",
                  "Records a plugin sink's store refused (sent to the error policy)", true, labels,
                  static_cast<double>(s.sink_rejected.value())});
  add_histogram(out, "sink_batch_records", "Records per batch a plugin sink wrote", labels,
                s.sink_batch_records);
  add_histogram(out, "sink_write_seconds", "From sending a batch to a plugin sink to its report",
                labels, s.sink_write_seconds);
}

struct RuntimeRow {
  const char* name;
  const char* help;
  bool counter;
  const Counter RuntimeMetrics::*value;
  double scale;
};

const RuntimeRow kRuntime[] = {
    {"consumed_total", "Inputs read from the source", true, &RuntimeMetrics::consumed, 1},
    {"consumed_bytes_total", "Key and value bytes of the inputs read", true,
     &RuntimeMetrics::consumed_bytes, 1},
    {"produced_total", "Outputs handed to Kafka producers (sinks and DLQ)", true,
     &RuntimeMetrics::produced, 1},
    {"delivered_total", "Outputs acknowledged by their broker", true, &RuntimeMetrics::delivered,
     1},
    {"dead_letters_total", "Failed records written to the dead-letter queue", true,
     &RuntimeMetrics::dead_letters, 1},
    {"skipped_total", "Failed records skipped (error_policy skip-and-count)", true,
     &RuntimeMetrics::skipped, 1},
    {"commits_total", "Offset commits sent", true, &RuntimeMetrics::commits, 1},
    {"last_commit_timestamp_seconds", "When the last offset commit was sent (0: none yet)", false,
     &RuntimeMetrics::last_commit_ms, 0.001},
    {"pauses_total", "Partitions paused by backpressure", true, &RuntimeMetrics::pauses, 1},
    {"backpressure_holds_total", "Times the source stopped taking records for a sink at its bound",
     true, &RuntimeMetrics::holds, 1},
    {"paused_partitions", "Partitions paused by backpressure now", false,
     &RuntimeMetrics::paused_partitions, 1},
    {"assigned_partitions", "Source partitions assigned to this host", false,
     &RuntimeMetrics::assigned_partitions, 1},
    {"in_flight_inputs", "Inputs not yet committable", false, &RuntimeMetrics::in_flight, 1},
    {"in_flight_input_bytes", "Key and value bytes of the inputs not yet committable", false,
     &RuntimeMetrics::in_flight_bytes, 1},
    {"unacknowledged_outputs", "Outputs waiting for their delivery report", false,
     &RuntimeMetrics::unacknowledged, 1},
    {"restoring_partitions", "Partitions restoring their state from the changelog, or queued to",
     false, &RuntimeMetrics::restoring_partitions, 1},
    {"restore_records_total", "Changelog records read to restore state", true,
     &RuntimeMetrics::restore_records, 1},
    {"restore_bytes_total", "Key and value bytes of the changelog records read to restore state",
     true, &RuntimeMetrics::restore_bytes, 1},
    {"restore_remaining_records", "Changelog records the running restore has left, at most", false,
     &RuntimeMetrics::restore_remaining, 1},
    {"restore_seconds_total", "Time restores from the changelog took", true,
     &RuntimeMetrics::restore_ms, 0.001},
    {"delivery_wait_seconds",
     "Longest a Kafka sink or the DLQ has had outputs pending without a delivery report", false,
     &RuntimeMetrics::delivery_wait_ms, 0.001},
};

}  // namespace

std::vector<Sample> snapshot(const PipelineMetrics& m) {
  if (m.sharded()) return snapshot(*m.merged());
  std::vector<Sample> out;
  const std::pair<std::string, std::string> pipeline{"pipeline", m.pipeline()};
  for (const RuntimeRow& row : kRuntime) {
    out.push_back({row.name,
                   row.help,
                   row.counter,
                   {pipeline},
                   static_cast<double>((m.runtime().*row.value).value()) * row.scale});
  }
  add_histogram(&out, "process_seconds",
                "Time of one input through its chain to its sinks (1 input in 64)", {pipeline},
                m.runtime().process_seconds);
  const uint64_t last_commit = m.runtime().last_commit_ms.value();
  if (last_commit > 0) {
    out.push_back({"commit_age_seconds",
                   "Time since the last offset commit was sent",
                   false,
                   {pipeline},
                   static_cast<double>(wall_ms() - static_cast<int64_t>(last_commit)) / 1000});
  }
  if (m.runtime().commit_latency_at_ms.value() != 0) {
    const auto [topic, group] = m.source();
    Labels labels{pipeline};
    if (!topic.empty()) labels.push_back({"topic", topic});
    if (!group.empty()) labels.push_back({"consumer_group", group});
    out.push_back({"commit_latency_seconds",
                   "At the last offset commit, how old (by record timestamp) the newest input "
                   "it covered was",
                   false, labels,
                   static_cast<double>(m.runtime().commit_latency_ms.value()) / 1000});
  }
  for (const auto& [client, text] : m.client_stats()) {
    client_samples(m.pipeline(), client, text, &out);
  }
  std::map<std::string, uint64_t> in_by_name;
  m.for_each_step([&](const StepMetrics& s) { in_by_name[s.name] = s.records_in.value(); });
  std::set<std::string> gone;  // steps that left the pipeline: their counters only
  for (const auto& [name, n] : in_by_name) {
    if (!m.current(name)) gone.insert(name);
  }
  m.for_each_step([&](const StepMetrics& s) {
    std::vector<std::pair<std::string, std::string>> labels{
        pipeline, {"step", s.name}, {"kind", s.kind}};
    out.push_back({"step_records_in_total", "Records a step was given", true, labels,
                   static_cast<double>(s.records_in.value())});
    uint64_t passed = s.written.value();
    for (const auto& next : s.next) passed += in_by_name[next];
    out.push_back({"step_records_out_total",
                   "Records a step passed on (to the next steps, or written by a sink)", true,
                   labels, static_cast<double>(passed)});
    if (s.kind == "batch") {
      add_histogram(&out, "batch_records", "Records per batch a batch step emitted",
                    {pipeline, {"step", s.name}}, s.batch_records);
      add_histogram(&out, "batch_age_seconds", "How long a batch was open when emitted",
                    {pipeline, {"step", s.name}}, s.batch_age_seconds);
    }
    if (s.plugin_sink.value() != 0) add_sink(&out, pipeline, s);
    const bool left = gone.count(s.name) != 0;
    if (s.stateful.value() != 0 && !left) {
      out.push_back({"step_state_keys",
                     "Keys in a stateful step's stores (an estimate)",
                     false,
                     {pipeline, {"step", s.name}},
                     static_cast<double>(s.state_keys.value())});
      out.push_back({"step_state_bytes",
                     "Bytes of a stateful step's stores (an estimate)",
                     false,
                     {pipeline, {"step", s.name}},
                     static_cast<double>(s.state_bytes.value())});
    }
    if (!s.plugin.empty() && !left) {
      out.push_back({"step_info",
                     "The plugin and version serving a step (value 1)",
                     false,
                     {pipeline, {"step", s.name}, {"plugin", s.plugin}, {"version", s.version}},
                     1});
    }
    for (size_t k = 0; k < kErrorKindCount; ++k) {
      const uint64_t n = s.errors[k].value();
      if (n == 0) continue;
      out.push_back({"step_errors_total",
                     "Records a step failed on, by error kind",
                     true,
                     {pipeline, {"step", s.name}, {"error", kErrorKinds[k]}},
                     static_cast<double>(n)});
    }
  });
  for (const auto& [step, n] : m.crashes) {
    out.push_back({"crashes_total",
                   "Fatal signals while a step processed an input, from the crash journal",
                   true,
                   {pipeline, {"step", step}},
                   static_cast<double>(n)});
  }
  const char* outcomes[] = {"applied", "unchanged", "refused"};
  for (int i = 0; i < 3; ++i) {
    out.push_back({"reloads_total",
                   "Reloads by outcome",
                   true,
                   {pipeline, {"outcome", outcomes[i]}},
                   static_cast<double>(m.reloads[i].value())});
  }
  out.push_back({"generation",
                 "The running generation",
                 false,
                 {pipeline},
                 static_cast<double>(m.generation.value())});
  out.push_back({"ready",
                 "1 when GET /readyz would succeed, else 0 (checked every second)",
                 false,
                 {pipeline},
                 static_cast<double>(m.ready.value())});
  out.push_back({"not_ready_seconds",
                 "How long the host has been not ready in a row (0: ready, or only waiting to "
                 "join the group or for a restore)",
                 false,
                 {pipeline},
                 static_cast<double>(m.not_ready_ms.value()) / 1000});
  out.push_back({"paused",
                 "1 while an operator has paused the host (POST /pause, streams-host pause)",
                 false,
                 {pipeline},
                 m.paused_since_ms.value() ? 1.0 : 0.0});
  plugin_metrics().each_counter(
      [&](const std::string& family, const std::string& step, uint64_t n) {
        out.push_back({family.c_str(),
                       "A count a step's plugin keeps (plugin ABI 1.11 counter)",
                       true,
                       {pipeline, {"step", step}},
                       static_cast<double>(n)});
      });
  plugin_metrics().each_gauge([&](const std::string& family, const std::string& step, double v) {
    if (!m.current(step)) return;
    out.push_back({family.c_str(),
                   "A value a step's plugin keeps (plugin ABI 1.12 gauge)",
                   false,
                   {pipeline, {"step", step}},
                   v});
  });
  plugin_metrics().each_histogram([&](const std::string& family, const std::string& step,
                                      std::vector<double>& bounds, std::vector<uint64_t>& buckets,
                                      double sum) {
    uint64_t count = 0;
    for (uint64_t b : buckets) count += b;
    out.push_back({family.c_str(),
                   "Values a step's plugin observed (plugin ABI 1.12 histogram)",
                   false,
                   {pipeline, {"step", step}},
                   static_cast<double>(count),
                   std::move(bounds),
                   std::move(buckets),
                   sum});
  });
  return out;
}

}  // namespace streams::metrics
