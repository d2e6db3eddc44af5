#include "metrics/prometheus.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <sstream>

#include "metrics/snapshot.h"

namespace streams::metrics {

std::string prometheus_text(const PipelineMetrics& m) {
  std::vector<prometheus::MetricFamily> families;
  std::map<std::string, size_t> by_name;  // a family per name, in order of first sample
  for (const Sample& s : snapshot(m)) {
    const std::string name = std::string("streams_") + s.name;
    auto [at, added] = by_name.emplace(name, families.size());
    if (added) {
      families.push_back(
          {name,
           s.help,
           s.counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge,
           {}});
    }
    prometheus::ClientMetric metric;
    for (const auto& [key, value] : s.labels) metric.label.push_back({key, value});
    if (s.counter)
      metric.counter.value = s.value;
    else
      metric.gauge.value = s.value;
    families[at->second].metric.push_back(std::move(metric));
  }
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, families);
  return text.str();
}

}  // namespace streams::metrics
