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
// outlives it) as client "consumer". `fetch_wait`: see source_fetch_wait.
// Null with *error on failure.
std::unique_ptr<pipeline::Source> create_kafka_source(const pipeline::Generation& g,
                                                      const std::string& client_id,
                                                      metrics::PipelineMetrics& metrics,
                                                      std::string* error, int fetch_wait);

// The id of `g`'s source cluster; empty when it did not answer within
// `timeout_ms`. Blocks: control plane.
std::string source_cluster_id(const pipeline::Generation& g, const std::string& client_id,
                              int timeout_ms);

// The fetch.wait.max.ms default for `g`'s source consumer (kafka_conf.h
// fetch_wait_ms): asks the source's cluster for its id with a short-lived
// client of the consumer's settings, waiting at most `timeout_ms`; logs the
// choice. Asks nothing when override_params set it. Blocks: control plane.
int source_fetch_wait(const pipeline::Generation& g, const std::string& client_id, int timeout_ms);

}  // namespace streams::kafka
