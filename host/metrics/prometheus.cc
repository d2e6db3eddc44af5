#include "metrics/prometheus.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <limits>
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
      const auto type = s.counter           ? prometheus::MetricType::Counter
                        : s.buckets.empty() ? prometheus::MetricType::Gauge
                                            : prometheus::MetricType::Histogram;
      families.push_back({name, s.help, type, {}});
    }
    prometheus::ClientMetric metric;
    for (const auto& [key, value] : s.labels) metric.label.push_back({key, value});
    if (s.counter) {
      metric.counter.value = s.value;
    } else if (!s.buckets.empty()) {
      uint64_t below = 0;  // the text format's buckets are cumulative
      for (size_t i = 0; i < s.bounds.size(); ++i) {
        below += s.buckets[i];
        metric.histogram.bucket.push_back({below, s.bounds[i]});
      }
      below += s.buckets.back();
      metric.histogram.bucket.push_back({below, std::numeric_limits<double>::infinity()});
      metric.histogram.sample_count = below;
      metric.histogram.sample_sum = s.sum;
    } else {
      metric.gauge.value = s.value;
    }
    families[at->second].metric.push_back(std::move(metric));
  }
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, families);
  return text.str();
}

}  // namespace streams::metrics
