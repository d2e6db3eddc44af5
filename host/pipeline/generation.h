// A pipeline generation: parsed config + loaded plugins + the bound step
// graph.
// Immutable once built and shared (shared_ptr<const Generation>) by every
// per-partition Chain made from it, so plugin libraries outlive the
// instances created from them. Built on the control thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <streams/plugin_abi.h>

#include "config/deployment_config.h"
#include "config/diagnostics.h"
#include "config/pipeline_config.h"
#include "pipeline/codec.h"
#include "pipeline/operator.h"
#include "plugin/plugin_library.h"

namespace streams::plugin {
class PluginRegistry;
}

namespace streams::pipeline {

struct BranchTarget {
  std::string name;
  uint32_t step;  // the branch's first step, an index into Generation::steps
};

// One step of the graph, bound to what runs it.
struct StepBinding {
  std::string name;
  const config::StepSpec* spec = nullptr;  // in Generation::pipeline
  const Operator* op = nullptr;            // its kind: spec->type
  // From `op`, for the per-record path.
  bool runs_plugin_only = false;
  uint32_t done_after_emitting = Operator::kNoCount;
  uint32_t emit_limit = 0;
  bool may_drop = false;
  // Steps of a kind that runs a function (Operator::function_kind) only.
  std::string plugin;
  std::string plugin_version;
  std::string config_json;
  std::shared_ptr<plugin::PluginLibrary> library;  // python steps: the bridge
  const streams_function* function = nullptr;      // owned by `library`
  // ABI 1.5: the form of the state values `function` writes (0: none
  // declared) and its conversion of older ones (null: none).
  uint32_t state_version = 0;
  decltype(streams_function::migrate) migrate = nullptr;
  // reduce with group_by: the map function giving each record's group key.
  std::shared_ptr<plugin::PluginLibrary> key_library;
  const streams_function* key_function = nullptr;  // owned by `key_library`
  std::string key_config_json;                     // empty: config_json
  std::shared_ptr<const CodecStep> codec;          // parser / serializer (bound by the operator)
  // The step after this one; none for sinks and branching steps.
  static constexpr uint32_t kNone = ~0u;
  uint32_t next = kNone;
  std::vector<BranchTarget> branches;  // route / broadcast
  uint32_t sink = kNone;               // sinks: an index into Generation::sinks
};

struct SinkBinding {
  std::string name;  // the sink step's name
  const config::SinkType* type = nullptr;
  std::shared_ptr<const config::SinkSettings> settings;  // as deployed (SinkType::bind)
  uint32_t step = 0;                                     // its index in Generation::steps
};

struct Generation {
  config::PipelineSpec pipeline;
  config::DeploymentConfig deployment;
  size_t segment = 0;
  std::vector<StepBinding> steps;  // the graph in file order; steps[0] comes first
  std::vector<SinkBinding> sinks;  // in file order
  // With python steps: the directories of their modules (the deployment's
  // python_path, then the pipeline file's directory) and a hash of them.
  std::vector<std::string> python_dirs;
  std::string python_code;
  // The bridge keeps version python_code of the modules while this holds
  // it (plugin::PythonProvider::hold): new instances can be made from it.
  std::shared_ptr<void> python_hold;

  const config::StepDeployment& source_deployment() const;
  // The steps_config entry of sink `index` (Kafka sinks always have one).
  const config::StepDeployment& sink_deployment(size_t index) const;
  // The same, or the defaults when it has none.
  const config::StepDeployment& sink_settings(size_t index) const;
  // The topic the source reads: steps_config topic, else stream_name (also
  // without a deployment entry, for local runs and tests).
  std::string source_topic() const;
  std::string consumer_group() const;
  // The source's steps_config entry, or the defaults when there is none
  // (local runs without a deployment file): error_policy, dlq, error_limits.
  const config::StepDeployment& source_settings() const;
  config::ErrorPolicy error_policy() const { return source_settings().error_policy; }
};

// The topic and consumer group of `pipeline`'s source deployed with `source`
// (its steps_config entry, or the defaults): what a Generation of them reads
// (Generation::source_topic, consumer_group), for tools that build none.
std::string source_topic_of(const config::PipelineSpec& pipeline,
                            const config::StepDeployment& source);
std::string consumer_group_of(const config::PipelineSpec& pipeline,
                              const config::StepDeployment& source);

// Binds `pipeline` to `deployment` segment `segment` and to plugins from
// `registry`, creating and destroying one instance of every function with its
// config to prove it initialises. `need_brokers`: the source and every Kafka
// sink must have bootstrap_servers (false for the local runtime). Returns
// nullptr with `diag` filled on error.
std::shared_ptr<const Generation> build_generation(config::PipelineSpec pipeline,
                                                   config::DeploymentConfig deployment,
                                                   size_t segment, plugin::PluginRegistry& registry,
                                                   config::Diagnostics& diag,
                                                   bool need_brokers = true);

// The directories of a pipeline's Python modules: the deployment's
// python_path, then the pipeline file's directory.
std::vector<std::string> python_dirs(const config::PipelineSpec& pipeline,
                                     const config::DeploymentConfig& deployment);

// The host services given to plugin instances; `host_ctx` is the binding.
streams_host_api make_host_api(const StepBinding& binding);

// ABI 1.11's counter and count for the plugin of step `step` (the host
// api's, and a plugin sink's): a refused name is logged once.
uint32_t plugin_counter(const std::string& step, const char* name, size_t size);
void count_plugin_counter(void* host_ctx, uint32_t handle, uint64_t n);
// ABI 1.12's gauge and histogram, as plugin_counter; set_plugin_gauges fills
// in `api`'s gauge_set, gauge_add and observe.
uint32_t plugin_gauge(const std::string& step, const char* name, size_t size);
uint32_t plugin_histogram(const std::string& step, const char* name, size_t size,
                          const double* bounds, size_t count);
void set_plugin_gauges(streams_host_api& api);

// One instance of a plugin function, destroyed by that function's destroy
// when it goes (RAII). The function's library must outlive it (a Chain holds
// its Generation, which holds the libraries).
class PluginInstance {
 public:
  PluginInstance() = default;
  PluginInstance(const streams_function* fn, void* instance) : fn_(fn), instance_(instance) {}
  PluginInstance(PluginInstance&& other) noexcept
      : fn_(other.fn_), instance_(std::exchange(other.instance_, nullptr)) {}
  PluginInstance& operator=(PluginInstance&& other) noexcept {
    if (this != &other) {
      reset();
      fn_ = other.fn_;
      instance_ = std::exchange(other.instance_, nullptr);
    }
    return *this;
  }
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;
  ~PluginInstance() { reset(); }

  void* get() const { return instance_; }
  explicit operator bool() const { return instance_ != nullptr; }
  void reset() {
    if (instance_) fn_->destroy(std::exchange(instance_, nullptr));
  }

 private:
  const streams_function* fn_ = nullptr;
  void* instance_ = nullptr;
};

// Creates an instance of `fn` (the step's function or its group_by key
// function) with the step's config. Empty with *why (the plugin's reason)
// on failure. `api` must outlive the instance.
PluginInstance create_instance(const StepBinding& step, const streams_function& fn,
                               const streams_host_api& api, std::string* why);

}  // namespace streams::pipeline
