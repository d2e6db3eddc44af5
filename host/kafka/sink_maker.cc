#include "kafka/sink_maker.h"

#include "kafka/kafka_conf.h"
#include "kafka/kafka_sink.h"
#include "pipeline/local_sinks.h"

namespace streams::kafka {

std::unique_ptr<pipeline::OutputSink> KafkaSinkMaker::make(const pipeline::Generation& g,
                                                           size_t index,
                                                           pipeline::SinkListener& listener,
                                                           std::string* error) {
  const pipeline::SinkBinding& sink = g.sinks[index];
  switch (sink.type) {
    case config::SinkType::kafka: {
      rd_kafka_conf_t* conf = producer_conf(g, index, client_id_, error);
      if (!conf) return nullptr;
      return KafkaSink::create(conf, sink.topic, listener, metrics_, "sink " + sink.topic, error);
    }
    case config::SinkType::file:
      return pipeline::FileSink::open(sink.path, sink.fsync, error);
    case config::SinkType::devnull:
      return std::make_unique<pipeline::DevNullSink>();
  }
  *error = "sink '" + sink.name + "': unknown sink type";
  return nullptr;
}

std::unique_ptr<pipeline::OutputSink> KafkaSinkMaker::make_dlq(const pipeline::Generation& g,
                                                               pipeline::SinkListener& listener,
                                                               std::string* error) {
  rd_kafka_conf_t* conf = dlq_producer_conf(g, client_id_, error);
  if (!conf) return nullptr;
  return KafkaSink::create(conf, g.source_deployment().dlq.topic, listener, metrics_, "dlq", error);
}

}  // namespace streams::kafka
