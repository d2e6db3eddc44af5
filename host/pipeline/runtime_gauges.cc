#include "pipeline/runtime_gauges.h"

#include "common/log.h"

namespace streams::pipeline {

void RuntimeGauges::publish(PartitionProcessor& partitions, const SinkSet& sinks, uint64_t skipped,
                            int64_t now_ms) {
  if (now_ms - last_state_sizes_ms_ >= kStateSizeMs) {
    last_state_sizes_ms_ = now_ms;
    partitions.publish_state_sizes();
  }
  if (now_ms - last_partitions_ms_ >= kPartitionsMs) {
    last_partitions_ms_ = now_ms;
    metrics_.set_partitions(partitions.status());
  }
  const PartitionProcessor::Gauges g = partitions.gauges();
  int64_t wait_ms = 0;
  const OutputSink* waiting = sinks.longest_wait(now_ms, &wait_ms);
  m_.delivery_wait_ms.set(static_cast<uint64_t>(wait_ms));
  if (waiting != waiting_) {
    waiting_ = waiting;
    metrics_.set_waiting_sink(!waiting ? ""
                              : waiting == sinks.dlq()
                                  ? "the dead-letter queue " + waiting->describe()
                                  : "sink " + waiting->describe());
  }
  if (waiting && wait_ms >= kDeliveryWaitWarnMs)
    warn_delivery_wait(sinks, *waiting, wait_ms, now_ms);
  m_.assigned_partitions.set(g.assigned);
  m_.paused_partitions.set(partitions.paused());
  m_.in_flight.set(g.in_flight);
  m_.in_flight_bytes.set(g.in_flight_bytes);
  m_.unacknowledged.set(sinks.pending());
  m_.skipped.set(skipped);
}

// Once every kDeliveryWaitWarnMs while it lasts.
void RuntimeGauges::warn_delivery_wait(const SinkSet& sinks, const OutputSink& sink,
                                       int64_t wait_ms, int64_t now_ms) {
  if (now_ms - last_wait_warning_ms_ < kDeliveryWaitWarnMs) return;
  last_wait_warning_ms_ = now_ms;
  log::warn(std::string(&sink == sinks.dlq() ? "dead-letter queue " : "sink ") + sink.describe() +
            ": " + sink.describe_wait(wait_ms) + "; their inputs stay uncommitted");
}

void RuntimeGauges::log_pause(const std::string& topic, int32_t partition, int64_t offset,
                              const std::string& why, int64_t now_ms) {
  if (now_ms - last_pause_log_ms_ < kPauseLogMs) {
    ++pauses_unlogged_;
    return;
  }
  const std::string since = pauses_unlogged_ == 0 ? ""
                                                  : " (" + std::to_string(pauses_unlogged_) +
                                                        " more pause(s) since the last such line)";
  last_pause_log_ms_ = now_ms;
  pauses_unlogged_ = 0;
  const std::string number = std::to_string(partition);
  log::write(log::Level::info,
             "backpressure: paused " + topic + "[" + number + "] at " + std::to_string(offset) +
                 ": " + why + since,
             {{"topic", topic}, {"partition", number}});
}

}  // namespace streams::pipeline
