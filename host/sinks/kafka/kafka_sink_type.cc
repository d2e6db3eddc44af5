// `type: kafka`: read, bind, check and create a Kafka sink.
#include <librdkafka/rdkafka.h>

#include "config/yaml_reader.h"
#include "kafka/kafka_conf.h"
#include "pipeline/generation.h"
#include "pipeline/generation_diff.h"
#include "sinks/kafka/kafka_sink.h"

namespace streams::sinks {
namespace {

struct KafkaSettings final : config::SinkSettings {
  std::string stream_name;
  std::string topic;  // stream_name, or the steps_config topic
  std::string target() const override { return topic; }
  std::string describe() const override { return "kafka " + topic; }
  bool equals(const config::SinkSettings& other) const override {
    auto* o = dynamic_cast<const KafkaSettings*>(&other);
    return o && o->stream_name == stream_name && o->topic == topic;
  }
};

const KafkaSettings& settings_of(const pipeline::Generation& g, size_t index) {
  return static_cast<const KafkaSettings&>(*g.sinks[index].settings);
}

class KafkaSinkType final : public config::SinkType {
 public:
  const char* name() const override { return "kafka"; }

  std::shared_ptr<const config::SinkSettings> read(config::YamlReader& r, const YAML::Node& node,
                                                   const std::string& key) const override {
    r.check_keys(node, key, {"kind", "name", "type", "stream_name"});
    auto stream = r.string(node, key, "stream_name", true);
    if (!stream) return nullptr;
    auto settings = std::make_shared<KafkaSettings>();
    settings->stream_name = settings->topic = *stream;
    return settings;
  }

  std::shared_ptr<const config::SinkSettings> bind(std::shared_ptr<const config::SinkSettings> read,
                                                   const pipeline::Generation& g,
                                                   const std::string& name,
                                                   BindContext&) const override {
    const auto& steps = g.deployment.segments[g.segment].steps_config;
    auto it = steps.find(name);
    if (it == steps.end() || it->second.topic.empty()) return read;
    auto bound = std::make_shared<KafkaSettings>(static_cast<const KafkaSettings&>(*read));
    bound->topic = it->second.topic;
    return bound;
  }

  bool uses_kafka() const override { return true; }

  // A legal topic, not the source's on the same brokers, a producer conf
  // librdkafka takes.
  void check(const pipeline::Generation& g, size_t index,
             config::Diagnostics& diag) const override {
    const pipeline::SinkBinding& sink = g.sinks[index];
    const std::string& topic = settings_of(g, index).topic;
    const config::Location at = g.steps[sink.step].spec->location;
    kafka::check_topic(topic, at, diag);
    if (topic == g.source_topic() &&
        g.sink_deployment(index).bootstrap_servers == g.source_deployment().bootstrap_servers) {
      diag.warn(at, "sink '" + sink.name + "' writes to the source topic " + topic +
                        " on the same brokers: its outputs are read again as inputs");
    }
    std::string error;
    if (rd_kafka_conf_t* p = kafka::producer_conf(g, index, "validate", &error)) {
      kafka::check_client(p, false, g.sink_deployment(index).location, diag);
    } else {
      diag.error(config::Location{}, error);
    }
  }

  // The producer is built from the sink's steps_config.
  std::string restart_reason(const pipeline::Generation& a, const pipeline::Generation& b,
                             size_t index) const override {
    if (pipeline::same_client(a.sink_deployment(index), b.sink_deployment(index))) return "";
    return "the steps_config of sink '" + a.sinks[index].name + "' changed";
  }

  std::unique_ptr<pipeline::OutputSink> create(const config::SinkContext& c,
                                               std::string* error) const override {
    if (!c.listener || !c.metrics) {
      *error = "a Kafka sink runs only on Kafka";
      return nullptr;
    }
    const std::string& topic = settings_of(c.generation, c.index).topic;
    rd_kafka_conf_t* conf = kafka::producer_conf(c.generation, c.index, c.client_id, error);
    if (!conf) return nullptr;
    return KafkaSink::create(conf, topic, *c.listener, *c.metrics, "sink " + topic, error);
  }
};

}  // namespace

const config::SinkType& kafka_sink_type() {
  static const KafkaSinkType type;
  return type;
}

std::unique_ptr<pipeline::OutputSink> create_dlq_sink(const config::SinkContext& c,
                                                      std::string* error) {
  if (!c.listener || !c.metrics) {
    *error = "the dead-letter queue runs only on Kafka";
    return nullptr;
  }
  rd_kafka_conf_t* conf = kafka::dlq_producer_conf(c.generation, c.client_id, error);
  if (!conf) return nullptr;
  return KafkaSink::create(conf, c.generation.source_deployment().dlq.topic, *c.listener,
                           *c.metrics, "dlq", error);
}

}  // namespace streams::sinks
