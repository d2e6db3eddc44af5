// A pipeline generation: parsed config + loaded plugins + bound steps.
// Immutable once built and shared (shared_ptr<const Generation>) by every
// per-partition Chain made from it, so plugin libraries outlive the
// instances created from them. Built on the control thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <streams/plugin_abi.h>

#include "config/deployment_config.h"
#include "config/diagnostics.h"
#include "config/pipeline_config.h"
#include "plugin/plugin_library.h"

namespace streams::plugin {
class PluginRegistry;
}

namespace streams::pipeline {

// A map or filter step bound to its plugin function.
struct StepBinding {
  std::string name;
  config::StepKind kind = config::StepKind::map;
  std::string plugin;
  std::string plugin_version;
  std::string config_json;
  std::shared_ptr<plugin::PluginLibrary> library;
  const streams_function* function = nullptr;  // owned by `library`
};

struct Generation {
  config::PipelineSpec pipeline;
  config::DeploymentConfig deployment;
  size_t segment = 0;
  std::vector<StepBinding> steps;  // in order; the sink is not among them

  const config::StepSpec& sink() const { return pipeline.sink(); }
  const config::StepDeployment& source_deployment() const;
  const config::StepDeployment& sink_deployment() const;
  // The topic the source reads: steps_config topic, else stream_name.
  std::string source_topic() const;
  std::string sink_topic() const;
  std::string consumer_group() const;
};

// Binds `pipeline` to `deployment` segment `segment` and to plugins from
// `registry`, creating and destroying one instance of every function with its
// config to prove it initialises. Returns nullptr with `diag` filled on error.
std::shared_ptr<const Generation> build_generation(config::PipelineSpec pipeline,
                                                   config::DeploymentConfig deployment,
                                                   size_t segment, plugin::PluginRegistry& registry,
                                                   config::Diagnostics& diag);

// The host services given to plugin instances; `host_ctx` is the binding.
streams_host_api make_host_api(const StepBinding& binding);

}  // namespace streams::pipeline
