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
  bool counter;                                             // else a gauge
  std::vector<std::pair<std::string, std::string>> labels;  // "pipeline" first
  double value;
};

// Thread: any; reads the single-writer counters.
std::vector<Sample> snapshot(const PipelineMetrics& metrics);

}  // namespace streams::metrics
