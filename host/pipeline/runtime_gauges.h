// A runtime's gauges and the log lines about its waits (data plane): what
// is assigned, paused, in flight and unacknowledged, published once a loop
// turn; a warning while a sink has gone without acknowledgements for
// kDeliveryWaitWarnMs; the backpressure pauses (one line every
// kPauseLogMs, counting the pauses between: a host ahead of a slow sink
// pauses and resumes all day).
// Thread: the processing thread.
#pragma once

#include <cstdint>
#include <string>

#include "metrics/metrics.h"
#include "pipeline/partition_processor.h"
#include "pipeline/sink_set.h"

namespace streams::pipeline {

class RuntimeGauges {
 public:
  static constexpr int64_t kDeliveryWaitWarnMs = 10000;

  explicit RuntimeGauges(metrics::PipelineMetrics& metrics)
      : metrics_(metrics), m_(metrics.runtime()) {}
  // `now_ms`: the steady clock.
  // Stores' sizes every kStateSizeMs.
  void publish(PartitionProcessor& partitions, const SinkSet& sinks, uint64_t skipped,
               int64_t now_ms);
  static constexpr int64_t kStateSizeMs = 5000;
  // The partitions' status (metrics::PartitionStatus) every kPartitionsMs.
  static constexpr int64_t kPartitionsMs = 1000;
  static constexpr int64_t kPauseLogMs = 60000;
  void log_pause(const std::string& topic, int32_t partition, int64_t offset,
                 const std::string& why, int64_t now_ms);

 private:
  void warn_delivery_wait(const SinkSet& sinks, const OutputSink& sink, int64_t wait_ms,
                          int64_t now_ms);

  metrics::PipelineMetrics& metrics_;
  metrics::RuntimeMetrics& m_;
  const OutputSink* waiting_ = nullptr;  // as last published (set_waiting_sink)
  int64_t last_wait_warning_ms_ = -kDeliveryWaitWarnMs;
  int64_t last_state_sizes_ms_ = -kStateSizeMs;
  int64_t last_partitions_ms_ = -kPartitionsMs;
  int64_t last_pause_log_ms_ = -kPauseLogMs;
  uint64_t pauses_unlogged_ = 0;  // since the last pause line
};

}  // namespace streams::pipeline
