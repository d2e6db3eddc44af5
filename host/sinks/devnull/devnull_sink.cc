#include "sinks/devnull/devnull_sink.h"

#include "config/yaml_reader.h"
#include "pipeline/generation.h"
#include "pipeline/sink.h"

namespace streams::sinks {
namespace {

class DevNullSink final : public pipeline::OutputSink {
 public:
  pipeline::WriteResult write(const streams_record&, uint64_t, const streams_origin*,
                              std::string*) override {
    return pipeline::WriteResult::ok;
  }
  std::string describe() const override { return "devnull"; }
};

struct DevNullSettings final : config::SinkSettings {
  std::string target() const override { return "devnull"; }
  std::string describe() const override { return "devnull"; }
  bool equals(const config::SinkSettings& other) const override {
    return dynamic_cast<const DevNullSettings*>(&other) != nullptr;
  }
};

class DevNullSinkType final : public config::SinkType {
 public:
  const char* name() const override { return "devnull"; }
  std::shared_ptr<const config::SinkSettings> read(config::YamlReader& r, const YAML::Node& node,
                                                   const std::string& key) const override {
    r.check_keys(node, key, {"kind", "name", "type"});
    return std::make_shared<DevNullSettings>();
  }
  std::unique_ptr<pipeline::OutputSink> create(const config::SinkContext&,
                                               std::string*) const override {
    return std::make_unique<DevNullSink>();
  }
};

}  // namespace

const config::SinkType& devnull_sink_type() {
  static const DevNullSinkType type;
  return type;
}

}  // namespace streams::sinks
