// The sinks of a runtime on Kafka (control plane): a producer per Kafka
// sink and for the dead-letter queue, files and devnull as configured.
#pragma once

#include <string>

#include "metrics/metrics.h"
#include "pipeline/sink_set.h"

namespace streams::kafka {

class KafkaSinkMaker final : public pipeline::SinkMaker {
 public:
  // `metrics` (producer statistics) must outlive the sinks made.
  KafkaSinkMaker(std::string client_id, metrics::PipelineMetrics& metrics)
      : client_id_(std::move(client_id)), metrics_(metrics) {}
  std::unique_ptr<pipeline::OutputSink> make(const pipeline::Generation& g, size_t index,
                                             pipeline::SinkListener& listener,
                                             std::string* error) override;
  std::unique_ptr<pipeline::OutputSink> make_dlq(const pipeline::Generation& g,
                                                 pipeline::SinkListener& listener,
                                                 std::string* error) override;

 private:
  std::string client_id_;
  metrics::PipelineMetrics& metrics_;
};

}  // namespace streams::kafka
