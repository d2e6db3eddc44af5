// `type: file`: read, describe and create a file sink.
#include "config/yaml_reader.h"
#include "pipeline/generation.h"
#include "sinks/file/file_sink.h"

namespace streams::sinks {
namespace {

struct FileSettings final : config::SinkSettings {
  std::string path;
  bool fsync = true;
  std::string target() const override { return path; }
  std::string describe() const override { return "file " + path; }
  bool equals(const config::SinkSettings& other) const override {
    auto* o = dynamic_cast<const FileSettings*>(&other);
    return o && o->path == path && o->fsync == fsync;
  }
};

class FileSinkType final : public config::SinkType {
 public:
  const char* name() const override { return "file"; }
  std::shared_ptr<const config::SinkSettings> read(config::YamlReader& r, const YAML::Node& node,
                                                   const std::string& key) const override {
    r.check_keys(node, key, {"kind", "name", "type", "path", "fsync"});
    auto settings = std::make_shared<FileSettings>();
    auto path = r.string(node, key, "path", true);
    if (!path) return nullptr;
    settings->path = *path;
    if (auto fsync = r.boolean(node, key, "fsync")) settings->fsync = *fsync;
    return settings;
  }
  std::unique_ptr<pipeline::OutputSink> create(const config::SinkContext& c,
                                               std::string* error) const override;
};

}  // namespace

std::unique_ptr<pipeline::OutputSink> FileSinkType::create(const config::SinkContext& c,
                                                           std::string* error) const {
  const auto& s = static_cast<const FileSettings&>(*c.generation.sinks[c.index].settings);
  return FileSink::open(s.path, s.fsync, error);
}

const config::SinkType& file_sink_type() {
  static const FileSinkType type;
  return type;
}

}  // namespace streams::sinks
