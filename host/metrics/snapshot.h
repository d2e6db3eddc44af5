// A point-in-time reading of PipelineMetrics as flat samples (control
// plane): the one list of what the host exports, which the Prometheus text,
// the DogStatsD and the log exporters format each their own way.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "metrics/metrics.h"

namespace streams::metrics {

struct Sample {
  const char* name;  // without the "streams_" prefix, e.g. "consumed_total"
  const char* help;
  bool counter;  // else a gauge, or a histogram when `buckets` is not empty
  std::vector<std::pair<std::string, std::string>> labels;  // "pipeline" first
  double value;  // counters and gauges; a histogram's observation count
  // Histograms: upper bounds, observations per bucket (one more: +Inf), sum.
  std::vector<double> bounds{};
  std::vector<uint64_t> buckets{};
  double sum = 0;
};

// Thread: any; reads the single-writer counters.
std::vector<Sample> snapshot(const PipelineMetrics& metrics);

}  // namespace streams::metrics
