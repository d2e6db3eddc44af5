#include "metrics/snapshot.h"

#include <map>

namespace streams::metrics {
namespace {

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
    {"paused_partitions", "Partitions paused by backpressure now", false,
     &RuntimeMetrics::paused_partitions, 1},
    {"assigned_partitions", "Source partitions assigned to this host", false,
     &RuntimeMetrics::assigned_partitions, 1},
    {"in_flight_inputs", "Inputs not yet committable", false, &RuntimeMetrics::in_flight, 1},
    {"in_flight_input_bytes", "Key and value bytes of the inputs not yet committable", false,
     &RuntimeMetrics::in_flight_bytes, 1},
    {"unacknowledged_outputs", "Outputs waiting for their delivery report", false,
     &RuntimeMetrics::unacknowledged, 1},
};

}  // namespace

std::vector<Sample> snapshot(const PipelineMetrics& m) {
  std::vector<Sample> out;
  const std::pair<std::string, std::string> pipeline{"pipeline", m.pipeline()};
  for (const RuntimeRow& row : kRuntime) {
    out.push_back({row.name,
                   row.help,
                   row.counter,
                   {pipeline},
                   static_cast<double>((m.runtime().*row.value).value()) * row.scale});
  }
  std::map<std::string, uint64_t> in_by_name;
  m.for_each_step([&](const StepMetrics& s) { in_by_name[s.name] = s.records_in.value(); });
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
    if (!s.plugin.empty()) {
      out.push_back({"step_info", "The plugin and version serving a step (value 1)", false,
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
  return out;
}

}  // namespace streams::metrics
