// The Prometheus text exposition of the host's metrics (control plane), for
// GET /metrics. Formatting is prometheus-cpp's (its TextSerializer); the
// values are read from PipelineMetrics at the time of the call.
#pragma once

#include <string>

#include "metrics/metrics.h"

namespace streams::metrics {

// Thread: any; reads the single-writer counters.
std::string prometheus_text(const PipelineMetrics& metrics);

}  // namespace streams::metrics
