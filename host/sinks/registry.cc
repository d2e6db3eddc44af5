#include "sinks/registry.h"

#include "sinks/devnull/devnull_sink.h"
#include "sinks/file/file_sink.h"
#include "sinks/kafka/kafka_sink.h"
#include "sinks/plugin/plugin_sink_type.h"

namespace streams::sinks {
namespace {

// One line per sink type; the first is the type of a sink without `type`.
const config::SinkType* const kTypes[] = {
    &kafka_sink_type(),
    &devnull_sink_type(),
    &file_sink_type(),
    &plugin_sink_type(),
};

class Registry final : public config::SinkTypes {
 public:
  const config::SinkType* find(std::string_view name) const override {
    for (const config::SinkType* type : kTypes) {
      if (name == type->name()) return type;
    }
    return nullptr;
  }
  std::vector<std::string> list() const override {
    std::vector<std::string> out;
    for (const config::SinkType* type : kTypes) out.emplace_back(type->name());
    return out;
  }
  const config::SinkType& fallback() const override { return *kTypes[0]; }
};

}  // namespace

const config::SinkTypes& sink_types() {
  static const Registry registry;
  return registry;
}

std::unique_ptr<pipeline::OutputSink> TypedSinkMaker::make(const pipeline::Generation& g,
                                                           size_t index,
                                                           pipeline::SinkListener& listener,
                                                           std::string* error) {
  return g.sinks[index].type->create({g, index, &listener, &metrics_, client_id_}, error);
}

std::unique_ptr<pipeline::OutputSink> TypedSinkMaker::make_dlq(const pipeline::Generation& g,
                                                               pipeline::SinkListener& listener,
                                                               std::string* error) {
  return create_dlq_sink({g, 0, &listener, &metrics_, client_id_}, error);
}

}  // namespace streams::sinks
