// Periodic metrics exporters (control plane, on the control thread's
// io_context): every `period_sec`, a log line (metrics type log) or
// DogStatsD datagrams over UDP (type datadog: counters as the increase
// since the last send, `|c`; gauges as their value, `|g`; histograms as
// distribution values, `|d`, one a bucket that gained observations since the
// last send, weighed by their count (`|@1/count`); every label and the
// configured tags as `#key:value` tags; names "streams." + the metric
// without its "_total").
//
// Lifetime: stops when destroyed; `metrics` and the io_context must outlive
// it. Thread: the io_context's.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/deployment_config.h"
#include "metrics/snapshot.h"

namespace boost::asio {
class io_context;
}

namespace streams::metrics {

class Exporter {
 public:
  virtual ~Exporter() = default;
};

// Null (with *error empty) when `config` sends nothing periodically (dummy,
// prometheus); null with *error when the exporter cannot start.
std::unique_ptr<Exporter> start_exporter(boost::asio::io_context& io,
                                         const config::MetricsDeployment& config,
                                         const PipelineMetrics& metrics, std::string* error);

// The DogStatsD lines for `samples`, counters as increases over `previous`
// (same order; empty: from zero). Exposed for tests.
std::vector<std::string> dogstatsd_lines(const std::vector<Sample>& samples,
                                         const std::vector<Sample>& previous,
                                         const config::MetricsDeployment& config);

}  // namespace streams::metrics
