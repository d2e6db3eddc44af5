// Helpers for unit tests: a temporary directory removed on scope exit, the
// log a body wrote, and generations built from inline YAML with the test
// plugins.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "config/deployment_config.h"
#include "config/pipeline_config.h"
#include "pipeline/generation.h"
#include "pipeline/operator.h"
#include "plugin/plugin_registry.h"
#include "sinks/registry.h"

namespace streams::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = std::filesystem::temp_directory_path().string() + "/streams-test-XXXXXX";
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& text) const {
    std::string file = path_ + "/" + name;
    std::ofstream(file) << text;
    return file;
  }

 private:
  std::string path_;
};

// What the process wrote to stderr (the host's log) while `body` ran.
template <class F>
std::string captured_stderr(F&& body) {
  TempDir dir;
  const std::string path = dir.path() + "/stderr";
  const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(file, STDERR_FILENO);
  body();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(file);
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Loads a pipeline file with the host's sink types.
inline bool load_spec(const std::string& path, config::PipelineSpec* spec,
                      config::Diagnostics& diag) {
  return config::load_pipeline_spec(path, {pipeline::step_types(), sinks::sink_types()}, spec,
                                    diag);
}

inline const char* kTestDeployment = R"(pipeline:
  segments:
    - steps_config:
        in: {bootstrap_servers: ["127.0.0.1:1"]}
        out: {bootstrap_servers: ["127.0.0.1:1"]}
)";

// A pipeline "in" -> steps -> sink "out"; `steps_yaml` is the list items
// before the sink, each line indented by two spaces.
inline std::string pipeline_yaml(const std::string& steps_yaml) {
  return "source: {name: in, stream_name: input}\nsteps:\n" + steps_yaml +
         "  - {kind: sink, name: out, stream_name: output}\n";
}

// Builds a generation with plugins from `plugins_dir`; nullptr on error with
// the diagnostics in `diag`.
inline std::shared_ptr<const pipeline::Generation> build(const TempDir& dir,
                                                         const std::string& steps_yaml,
                                                         const std::string& plugins_dir,
                                                         config::Diagnostics& diag) {
  config::PipelineSpec spec;
  config::DeploymentConfig deployment;
  if (!load_spec(dir.write("pipeline.yaml", pipeline_yaml(steps_yaml)), &spec, diag) ||
      !config::load_deployment_config(dir.write("deployment.yaml", kTestDeployment), &deployment,
                                      diag)) {
    return nullptr;
  }
  plugin::PluginRegistry registry(plugins_dir);
  return pipeline::build_generation(std::move(spec), std::move(deployment), 0, registry, diag);
}

// Builds a generation from a whole pipeline file's text (source "in"); the
// deployment gives brokers to "in" and to every Kafka sink.
inline std::shared_ptr<const pipeline::Generation> build_pipeline(const TempDir& dir,
                                                                  const std::string& pipeline_text,
                                                                  const std::string& plugins_dir,
                                                                  config::Diagnostics& diag) {
  config::PipelineSpec spec;
  if (!load_spec(dir.write("pipeline.yaml", pipeline_text), &spec, diag)) {
    return nullptr;
  }
  std::string deployment_text =
      "pipeline:\n  segments:\n    - steps_config:\n        in: {bootstrap_servers: [\"x:1\"]}\n";
  for (const config::StepSpec* sink : spec.sinks()) {
    if (!sink->sink_type->uses_kafka()) continue;
    deployment_text += "        " + sink->name + ": {bootstrap_servers: [\"x:1\"]}\n";
  }
  config::DeploymentConfig deployment;
  if (!config::load_deployment_config(dir.write("deployment.yaml", deployment_text), &deployment,
                                      diag)) {
    return nullptr;
  }
  plugin::PluginRegistry registry(plugins_dir);
  return pipeline::build_generation(std::move(spec), std::move(deployment), 0, registry, diag);
}

inline std::string all_errors(const config::Diagnostics& diag) {
  std::string out;
  for (const auto& e : diag.errors()) out += e + "\n";
  return out;
}

}  // namespace streams::testing
