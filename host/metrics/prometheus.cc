#include "metrics/prometheus.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <sstream>

namespace streams::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

using Labels = std::vector<ClientMetric::Label>;

MetricFamily family(const char* name, const char* help, MetricType type) {
  return MetricFamily{std::string("streams_") + name, help, type, {}};
}

void add(MetricFamily& f, double value, Labels labels) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

void runtime_families(const PipelineMetrics& pm, std::vector<MetricFamily>* out) {
  const RuntimeMetrics& r = pm.runtime();
  const Labels pipeline{{"pipeline", pm.pipeline()}};
  struct Row {
    const char* name;
    const char* help;
    MetricType type;
    const Counter& value;
  };
  const Row rows[] = {
      {"consumed_total", "Inputs read from the source", MetricType::Counter, r.consumed},
      {"consumed_bytes_total", "Key and value bytes of the inputs read", MetricType::Counter,
       r.consumed_bytes},
      {"produced_total", "Outputs handed to Kafka producers (sinks and DLQ)", MetricType::Counter,
       r.produced},
      {"delivered_total", "Outputs acknowledged by their broker", MetricType::Counter, r.delivered},
      {"dead_letters_total", "Failed records written to the dead-letter queue", MetricType::Counter,
       r.dead_letters},
      {"skipped_total", "Failed records skipped (error_policy skip-and-count)", MetricType::Counter,
       r.skipped},
      {"commits_total", "Offset commits sent", MetricType::Counter, r.commits},
      {"last_commit_timestamp_seconds", "When the last offset commit was sent (0: none yet)",
       MetricType::Gauge, r.last_commit_ms},
      {"pauses_total", "Partitions paused by backpressure", MetricType::Counter, r.pauses},
      {"paused_partitions", "Partitions paused by backpressure now", MetricType::Gauge,
       r.paused_partitions},
      {"assigned_partitions", "Source partitions assigned to this host", MetricType::Gauge,
       r.assigned_partitions},
      {"in_flight_inputs", "Inputs not yet committable", MetricType::Gauge, r.in_flight},
      {"in_flight_input_bytes", "Key and value bytes of the inputs not yet committable",
       MetricType::Gauge, r.in_flight_bytes},
      {"unacknowledged_outputs", "Outputs waiting for their delivery report", MetricType::Gauge,
       r.unacknowledged},
  };
  for (const Row& row : rows) {
    MetricFamily f = family(row.name, row.help, row.type);
    double v = static_cast<double>(row.value.value());
    if (&row.value == &r.last_commit_ms) v /= 1000;
    add(f, v, pipeline);
    out->push_back(std::move(f));
  }
}

void step_families(const PipelineMetrics& pm, std::vector<MetricFamily>* out) {
  MetricFamily in =
      family("step_records_in_total", "Records a step was given", MetricType::Counter);
  MetricFamily outs = family("step_records_out_total",
                             "Records a step passed on (to the next steps, or written by a sink)",
                             MetricType::Counter);
  MetricFamily errors =
      family("step_errors_total", "Records a step failed on, by error kind", MetricType::Counter);
  std::map<std::string, uint64_t> in_by_name;
  pm.for_each_step([&](const StepMetrics& s) { in_by_name[s.name] = s.records_in.value(); });
  pm.for_each_step([&](const StepMetrics& s) {
    const Labels labels{{"pipeline", pm.pipeline()}, {"step", s.name}, {"kind", s.kind}};
    add(in, static_cast<double>(s.records_in.value()), labels);
    uint64_t passed = s.written.value();
    for (const auto& next : s.next) passed += in_by_name[next];
    add(outs, static_cast<double>(passed), labels);
    for (size_t k = 0; k < kErrorKindCount; ++k) {
      const uint64_t n = s.errors[k].value();
      if (n == 0) continue;
      Labels with_kind{{"pipeline", pm.pipeline()}, {"step", s.name}, {"error", kErrorKinds[k]}};
      add(errors, static_cast<double>(n), std::move(with_kind));
    }
  });
  out->push_back(std::move(in));
  out->push_back(std::move(outs));
  out->push_back(std::move(errors));
}

}  // namespace

std::string prometheus_text(const PipelineMetrics& pm) {
  std::vector<MetricFamily> families;
  runtime_families(pm, &families);
  step_families(pm, &families);
  MetricFamily reloads = family("reloads_total", "Reloads by outcome", MetricType::Counter);
  const char* outcomes[] = {"applied", "unchanged", "refused"};
  for (int i = 0; i < 3; ++i) {
    add(reloads, static_cast<double>(pm.reloads[i].value()),
        {{"pipeline", pm.pipeline()}, {"outcome", outcomes[i]}});
  }
  families.push_back(std::move(reloads));
  MetricFamily generation = family("generation", "The running generation", MetricType::Gauge);
  add(generation, static_cast<double>(pm.generation.value()), {{"pipeline", pm.pipeline()}});
  families.push_back(std::move(generation));
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, families);
  return text.str();
}

}  // namespace streams::metrics
