// The sink types this host knows: one table (registry.cc) with a line per
// type, whose directory under host/sinks/ holds the rest.
#pragma once

#include "config/sink_type.h"
#include "pipeline/sink_set.h"

namespace streams::sinks {

const config::SinkTypes& sink_types();

// Makes a runtime's sinks through their types, and the DLQ's producer.
class TypedSinkMaker final : public pipeline::SinkMaker {
 public:
  // `metrics` (client statistics) must outlive the sinks made.
  TypedSinkMaker(std::string client_id, metrics::PipelineMetrics& metrics)
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

}  // namespace streams::sinks
