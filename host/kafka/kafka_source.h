// The source as a librdkafka consumer-group member (data plane): subscribes
// to the generation's topic, serves rebalances (eager or cooperative) and
// commit results through the SourceHandler, pauses, seeks and resumes
// partitions for backpressure, and leaves its group on close() without
// blocking past the timeout, even when the brokers are gone.
//
// Thread: as pipeline::Source.
#pragma once

#include <memory>
#include <string>

#include "metrics/metrics.h"
#include "pipeline/generation.h"
#include "pipeline/source.h"

namespace streams::kafka {

// The consumer for `g`'s source; its statistics go to `metrics` (which
// outlives it) as client "consumer". Null with *error on failure.
std::unique_ptr<pipeline::Source> create_kafka_source(const pipeline::Generation& g,
                                                      const std::string& client_id,
                                                      metrics::PipelineMetrics& metrics,
                                                      std::string* error);

}  // namespace streams::kafka
