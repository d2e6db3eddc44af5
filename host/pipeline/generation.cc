#include "pipeline/generation.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/crash_guard.h"
#include "common/edit_distance.h"
#include "common/log.h"
#include "config/step_deployment.h"
#include "metrics/plugin_metrics.h"
#include "pipeline/batch_end.h"
#include "plugin/plugin_registry.h"
#include "plugin/python_provider.h"

namespace streams::pipeline {
namespace {

using config::Location;

const char* kind_name(int32_t kind) {
  switch (kind) {
    case STREAMS_KIND_MAP:
      return "map";
    case STREAMS_KIND_FILTER:
      return "filter";
    case STREAMS_KIND_FLAT_MAP:
      return "flat_map";
    case STREAMS_KIND_ROUTE:
      return "route";
    case STREAMS_KIND_AGGREGATE:
      return "aggregate";
    case STREAMS_KIND_SINK:
      return "sink";
  }
  return "unknown";
}

// Creates and destroys one instance of `fn`; empty on success, else the reason.
std::string probe_instance(const StepBinding& binding, const streams_function* fn) {
  const streams_host_api api = make_host_api(binding);
  std::string why;
  create_instance(binding, *fn, api, &why);  // destroyed at once
  return why;
}

// Finds `function` of `plugin` and checks it is a `kind`; `what` says what
// the use needs ("step 'x' is a filter"). `at` locates the plugin key, and
// `fn_at` the function key. Null on error.
const streams_function* find_function(const std::string& plugin, const std::string& function,
                                      int32_t kind, const std::string& what, Location at,
                                      Location fn_at, plugin::PluginRegistry& registry,
                                      config::Diagnostics& diag,
                                      std::shared_ptr<plugin::PluginLibrary>* library) {
  std::string error;
  *library = registry.get(plugin, &error);
  if (!*library) {
    diag.error(at, error);
    return nullptr;
  }
  const streams_function* fn = (*library)->find(function);
  at = fn_at;
  if (!fn) {
    diag.error(at, "plugin '" + plugin + "' (" + (*library)->path() + ") " +
                       (*library)->missing_function(function));
    return nullptr;
  }
  if (fn->kind != kind) {
    diag.error(at, "function '" + function + "' of plugin '" + plugin + "' is a " +
                       kind_name(fn->kind) + ", but " + what);
    return nullptr;
  }
  return fn;
}

// What the bridge's create gets for the callable `name` (python_bridge.cc).

// `values_to_host`: host_reads_value of the step after it; `key`: it gives
// a reduce's group key.
std::string python_config(const Generation& g, const std::string& name, Payload form,
                          const std::string& lib, bool values_to_host, bool key) {
  nlohmann::json config = {{"callable", name},
                           {"path", g.python_dirs},
                           {"lib", lib},
                           {"code", g.python_code},
                           {"payload", form == Payload::json    ? "json"
                                       : form == Payload::batch ? "batch"
                                                                : "bytes"},
                           {"schema", g.pipeline.source.stream_name},
                           {"values_to_host", values_to_host},
                           {"key", key}};
  return config.dump();
}

// The bridge's function for `kind`, after reading the modules' files once
// per generation. Null with the error reported at `at`.
const streams_function* python_function(Generation& g, int32_t kind, Location at,
                                        plugin::PluginRegistry& registry, config::Diagnostics& diag,
                                        std::shared_ptr<plugin::PluginLibrary>* library) {
  std::string error;
  *library = registry.python().bridge(&error);
  if (!*library) {
    diag.error(at, error);
    return nullptr;
  }
  if (g.python_dirs.empty()) {
    g.python_dirs = python_dirs(g.pipeline, g.deployment);
    // A Python pipeline file was run at a version of the modules: the same.
    g.python_code = g.pipeline.python_code.empty()
                        ? plugin::PythonProvider::code_hash(g.python_dirs)
                        : g.pipeline.python_code;
    g.python_hold = registry.python().hold(g.python_code);
  }
  const streams_function* fn = (*library)->find(kind_name(kind));
  if (!fn || fn->kind != kind)
    diag.error(at, "the Python bridge has no " + std::string(kind_name(kind)));
  return fn && fn->kind == kind ? fn : nullptr;
}

// Whether a record steps[i] gets reaches a step that reads its value as
// bytes (a sink, a serializer, a batch, a C++ step) before a Python step
// takes the object a Python step made (python/message.h): filters and
// header filters hand it on, routes and broadcasts to their branches.
bool host_reads_value(const std::vector<config::StepSpec>& steps, size_t i) {
  if (i >= steps.size()) return false;
  const config::StepSpec& s = steps[i];
  const std::string_view kind = s.kind();
  const bool python = !s.python.empty();
  if (kind == "broadcast" || (kind == "route" && python)) {
    for (const config::BranchSpec& b : s.branches) {
      if (host_reads_value(b.steps, 0)) return true;
    }
    return false;
  }
  if (kind == "header_filter" || (kind == "filter" && python))
    return host_reads_value(steps, i + 1);
  return !python;
}

// " python NAME:", or "" for a callable a Python pipeline file registered
// under a made-up name (its error names the function and the file's line).
std::string python_named(const char* what, const std::string& name) {
  return plugin::PythonProvider::made_up_name(name) ? ""
                                                    : std::string(" ") + what + " " + name + ":";
}

// A `python:` step (and its `group_by: {python: ...}`). `values_to_host`:
// host_reads_value of the step after it.
bool bind_python(Generation& g, const config::StepSpec& spec, Payload form, bool values_to_host,
                 plugin::PluginRegistry& registry, config::Diagnostics& diag, StepBinding* out) {
  const Location at = spec.plugin_location;
  out->function = python_function(g, out->op->function_kind(), at, registry, diag, &out->library);
  if (!out->function) return false;
  out->plugin = "python";
  out->plugin_version = out->library->version();
  const std::string lib = registry.python().lib_dir();
  out->config_json = python_config(g, spec.python, form, lib, values_to_host, false);
  std::string why = probe_instance(*out, out->function);
  if (!why.empty()) {
    diag.error(at, "step '" + spec.name + "':" + python_named("python", spec.python) + " " + why);
    return false;
  }
  if (spec.group_python.empty()) return true;
  out->key_function =
      python_function(g, STREAMS_KIND_MAP, spec.group_location, registry, diag, &out->key_library);
  if (!out->key_function) return false;
  out->key_config_json = python_config(g, spec.group_python, form, lib, false, true);
  why = probe_instance(*out, out->key_function);
  if (!why.empty()) {
    diag.error(spec.group_location, "step '" + spec.name +
                                        "':" + python_named("group_by python", spec.group_python) +
                                        " " + why);
  }
  return why.empty();
}

bool bind_function(const config::StepSpec& spec, plugin::PluginRegistry& registry,
                   config::Diagnostics& diag, StepBinding* out) {
  Location at = spec.plugin_location;
  at.key = spec.location.key + ".function";
  const streams_function* fn =
      find_function(spec.plugin, spec.function, out->op->function_kind(),
                    "step '" + spec.name + "' is a " + spec.kind(), spec.plugin_location, at,
                    registry, diag, &out->library);
  if (!fn) return false;
  out->plugin = spec.plugin;
  out->plugin_version = out->library->version();
  out->config_json = spec.config_json;
  out->function = fn;
  if (STREAMS_HAS_FIELD(fn, streams_function, migrate)) {
    out->state_version = fn->state_version;
    out->migrate = fn->migrate;
  }
  std::string why = probe_instance(*out, fn);
  if (!why.empty()) {
    diag.error(at, "plugin '" + spec.plugin + "' (" + out->library->path() + ") function '" +
                       spec.function + "' failed to initialise: " + why);
    return false;
  }
  if (spec.group_function.empty()) return true;
  Location gat = spec.group_location;
  gat.key = spec.location.key + ".group_by.function";
  out->key_function = find_function(
      spec.group_plugin, spec.group_function, STREAMS_KIND_MAP,
      "the group_by of step '" + spec.name + "' needs a map (its output value is the key)",
      spec.group_location, gat, registry, diag, &out->key_library);
  if (!out->key_function) return false;
  why = probe_instance(*out, out->key_function);
  if (!why.empty()) {
    diag.error(gat, "group_by function '" + spec.group_function + "' failed to initialise: " + why);
  }
  return why.empty();
}

std::string steps_config_key(const Generation& g, const std::string& name) {
  return "pipeline.segments[" + std::to_string(g.segment) + "].steps_config." + name;
}

// The source and every Kafka sink need brokers; entries naming no step warn.
void check_deployment(const Generation& g, config::Diagnostics& diag) {
  const auto& segment = g.deployment.segments[g.segment];
  const auto& steps = segment.steps_config;
  std::vector<std::string> need{g.pipeline.source.name};
  for (const config::StepSpec* sink : g.pipeline.sinks()) {
    if (sink->sink_type->uses_kafka()) need.push_back(sink->name);
  }
  for (const std::string& name : need) {
    auto it = steps.find(name);
    if (it == steps.end()) {
      Location where = segment.location;
      where.file = g.deployment.path;
      where.key = steps_config_key(g, name);
      diag.error(where, "missing: step '" + name + "' needs bootstrap_servers");
    } else if (it->second.bootstrap_servers.empty()) {
      Location at = it->second.location;
      at.key += ".bootstrap_servers";
      diag.error(at, "required key is missing (expected a list of HOST:PORT)");
    }
  }
  const config::ErrorLimits no_limits;
  for (const auto& [name, step] : steps) {
    const bool limits =
        step.error_limits.max_consecutive_failures != no_limits.max_consecutive_failures ||
        step.error_limits.max_failure_ratio != no_limits.max_failure_ratio ||
        step.error_limits.ratio_window != no_limits.ratio_window;
    if (name != g.pipeline.source.name &&
        (step.error_policy_set || !step.dlq.topic.empty() || limits)) {
      diag.error(step.location, "error_policy, dlq and error_limits belong to the source ('" +
                                    g.pipeline.source.name + "'), not to step '" + name + "'");
    }
    if (step.parallelism > 1 && name != g.pipeline.source.name && !step.starts_segment) {
      diag.warn(step.location.file.empty() ? segment.location : step.location,
                "parallelism of step '" + name +
                    "' is not applied: processing threads take whole partitions, so it belongs "
                    "to a segment's first step (the source '" +
                    g.pipeline.source.name + "', or a step with starts_segment)");
    }
    std::vector<std::string> names{g.pipeline.source.name};
    for (const config::StepSpec* s : g.pipeline.all_steps()) names.push_back(s->name);
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      diag.warn(step.location,
                "no step named '" + name + "' in " + g.pipeline.path + did_you_mean(name, names));
    }
  }
}

// Appends `steps` (and their branches, depth first) to g.steps and returns
// the index of the first; binds plugin functions and sinks on the way.
// `form`: what the records reaching `steps` are (JSON text from a parser,
// a msgpack batch), so Python functions get them decoded.
uint32_t add_steps(Generation& g, const std::vector<config::StepSpec>& steps, Payload form,
                   plugin::PluginRegistry& registry, config::Diagnostics& diag) {
  const uint32_t first = static_cast<uint32_t>(g.steps.size());
  uint32_t previous = StepBinding::kNone;
  for (size_t i = 0; i < steps.size(); ++i) {
    const config::StepSpec& spec = steps[i];
    const uint32_t index = static_cast<uint32_t>(g.steps.size());
    if (previous != StepBinding::kNone) g.steps[previous].next = index;
    previous = index;
    StepBinding binding;
    binding.name = spec.name;
    binding.spec = &spec;
    binding.op = dynamic_cast<const Operator*>(spec.type);
    if (!binding.op) {  // a spec read with other StepTypes than step_types()
      diag.error(spec.location, "internal: step '" + spec.name + "' has no operator");
      return first;
    }
    if (binding.op->function_kind() != 0) {
      if (spec.python.empty()) {
        bind_function(spec, registry, diag, &binding);
      } else {
        bind_python(g, spec, form, host_reads_value(steps, i + 1), registry, diag, &binding);
      }
    }
    binding.runs_plugin_only = binding.op->runs_plugin_only();
    binding.done_after_emitting = binding.op->done_after_emitting();
    binding.emit_limit = binding.op->emit_limit();
    binding.may_drop = binding.op->may_drop();
    BindContext ctx{g, index, registry, diag};
    binding.op->bind(spec, ctx, &binding);
    form = binding.op->payload_after(spec, form);
    g.steps.push_back(std::move(binding));
    for (const config::BranchSpec& branch : spec.branches) {
      const uint32_t start = add_steps(g, branch.steps, form, registry, diag);
      g.steps[index].branches.push_back({branch.name, start});
    }
  }
  return first;
}

// Settings the deployment changes (a Kafka sink's steps_config topic) or
// loading adds (a plugin sink's function).
void bind_sinks(Generation& g, plugin::PluginRegistry& registry, config::Diagnostics& diag) {
  for (SinkBinding& sink : g.sinks) {
    config::SinkType::BindContext ctx{registry, diag, g.steps[sink.step].spec->location};
    sink.settings = sink.type->bind(sink.settings, g, sink.name, ctx);
  }
}

void host_log(void* host_ctx, int32_t level, const char* message, size_t size) {
  const auto* binding = static_cast<const StepBinding*>(host_ctx);
  auto lvl = static_cast<log::Level>(level < 0 ? 0 : level > 3 ? 3 : level);
  if (!log::enabled(lvl)) return;
  log::write(lvl, "[" + binding->plugin + "/" + binding->name + "] " + std::string(message, size),
             {{"step", binding->name}, {"plugin", binding->plugin}});
}

// A handle from the plugin metrics, and the warning of a refusal (or of a
// histogram's bounds kept) logged once.
uint32_t told(const std::string& step, uint32_t handle, const std::string& why) {
  if (!why.empty()) {
    log::warn("step '" + step + "': " + why + (handle ? "" : "; nothing it records is kept"));
  }
  return handle;
}

}  // namespace

uint32_t plugin_counter(const std::string& step, const char* name, size_t size) {
  std::string why;
  const uint32_t handle = metrics::plugin_metrics().counter(
      step, name ? std::string_view(name, size) : std::string_view(), &why);
  return told(step, handle, why);
}

void count_plugin_counter(void*, uint32_t handle, uint64_t n) {
  metrics::plugin_metrics().add(handle, n);
}

uint32_t plugin_gauge(const std::string& step, const char* name, size_t size) {
  std::string why;
  const uint32_t handle = metrics::plugin_metrics().gauge(
      step, name ? std::string_view(name, size) : std::string_view(), &why);
  return told(step, handle, why);
}

uint32_t plugin_histogram(const std::string& step, const char* name, size_t size,
                          const double* bounds, size_t count) {
  std::string why;
  const uint32_t handle = metrics::plugin_metrics().histogram(
      step, name ? std::string_view(name, size) : std::string_view(), bounds, count, &why);
  return told(step, handle, why);
}

void set_plugin_gauges(streams_host_api& api) {
  api.gauge_set = [](void*, uint32_t handle, double value) {
    metrics::plugin_metrics().set(handle, value);
  };
  api.gauge_add = [](void*, uint32_t handle, double delta) {
    metrics::plugin_metrics().add_to(handle, delta);
  };
  api.observe = [](void*, uint32_t handle, double value) {
    metrics::plugin_metrics().observe(handle, value);
  };
}

std::vector<std::string> python_dirs(const config::PipelineSpec& pipeline,
                                     const config::DeploymentConfig& deployment) {
  std::vector<std::string> dirs = deployment.python_path;
  const size_t slash = pipeline.path.rfind('/');
  dirs.push_back(slash == std::string::npos ? "."
                                            : pipeline.path.substr(0, slash == 0 ? 1 : slash));
  return dirs;
}

const config::StepDeployment& Generation::source_deployment() const {
  return deployment.segments[segment].steps_config.at(pipeline.source.name);
}

const config::StepDeployment& Generation::sink_deployment(size_t index) const {
  return deployment.segments[segment].steps_config.at(sinks[index].name);
}

std::string source_topic_of(const config::PipelineSpec& pipeline,
                            const config::StepDeployment& source) {
  return source.topic.empty() ? pipeline.source.stream_name : source.topic;
}

std::string consumer_group_of(const config::PipelineSpec& pipeline,
                              const config::StepDeployment& source) {
  return source.consumer_group.empty() ? "pipeline-" + pipeline.source.name : source.consumer_group;
}

std::string Generation::source_topic() const {
  return source_topic_of(pipeline, source_settings());
}

std::string Generation::consumer_group() const {
  return consumer_group_of(pipeline, source_settings());
}

namespace {
const config::StepDeployment& settings_of(const Generation& g, const std::string& step) {
  static const config::StepDeployment defaults;
  const auto& steps = g.deployment.segments[g.segment].steps_config;
  auto it = steps.find(step);
  return it == steps.end() ? defaults : it->second;
}
}  // namespace

const config::StepDeployment& Generation::source_settings() const {
  return settings_of(*this, pipeline.source.name);
}

const config::StepDeployment& Generation::sink_settings(size_t index) const {
  return settings_of(*this, sinks[index].name);
}

PluginInstance create_instance(const StepBinding& step, const streams_function& fn,
                               const streams_host_api& api, std::string* why) {
  // Marked as the step in flight: a crash or a stall in create names it.
  const crash::StepLabel* label = crash::intern_label(step.name, step.plugin, step.plugin_version);
  crash::InFlight& in_flight = crash::in_flight();
  const crash::StepLabel* outer = in_flight.current_step();
  in_flight.set_step(label);
  char reason[2048] = {0};
  const std::string& config = &fn == step.key_function && !step.key_config_json.empty()
                                  ? step.key_config_json
                                  : step.config_json;
  void* instance = fn.create(&api, config.c_str(), config.size(), reason, sizeof reason);
  in_flight.set_step(outer);
  // The reason as far as its NUL, or the buffer's end if the plugin left none.
  if (!instance)
    *why = reason[0] ? std::string(reason, strnlen(reason, sizeof reason))
                     : "create returned no instance";
  return {&fn, instance};
}

streams_host_api make_host_api(const StepBinding& binding) {
  streams_host_api api{};
  api.struct_size = sizeof(api);
  api.abi_major = STREAMS_ABI_MAJOR;
  api.abi_minor = STREAMS_ABI_MINOR;
  api.host_ctx = const_cast<StepBinding*>(&binding);
  api.log = &host_log;
  api.defer_to_batch_end = [](streams_call*, void (*fn)(void*), void* arg) {
    return defer_to_batch_end(fn, arg);
  };
  api.counter = [](void* host_ctx, const char* name, size_t size) {
    return plugin_counter(static_cast<const StepBinding*>(host_ctx)->name, name, size);
  };
  api.count = &count_plugin_counter;
  api.gauge = [](void* host_ctx, const char* name, size_t size) {
    return plugin_gauge(static_cast<const StepBinding*>(host_ctx)->name, name, size);
  };
  api.histogram = [](void* host_ctx, const char* name, size_t size, const double* bounds,
                     size_t count) {
    return plugin_histogram(static_cast<const StepBinding*>(host_ctx)->name, name, size, bounds,
                            count);
  };
  set_plugin_gauges(api);
  return api;  // emit, set_error, origin are filled in by the Chain
}

std::shared_ptr<const Generation> build_generation(config::PipelineSpec pipeline,
                                                   config::DeploymentConfig deployment,
                                                   size_t segment, plugin::PluginRegistry& registry,
                                                   config::Diagnostics& diag, bool need_brokers) {
  auto g = std::make_shared<Generation>();
  g->pipeline = std::move(pipeline);
  g->deployment = std::move(deployment);
  g->segment = segment;
  if (segment >= g->deployment.segments.size()) {
    diag.error(Location{g->deployment.path, 0, 0, "pipeline.segments"},
               "segment " + std::to_string(segment) + " requested, but the file defines " +
                   std::to_string(g->deployment.segments.size()));
    return nullptr;
  }
  if (need_brokers) check_deployment(*g, diag);
  config::apply_step_deployment(g->pipeline, g->deployment.segments[g->segment].steps_config, diag);
  add_steps(*g, g->pipeline.steps, static_cast<Payload>(g->pipeline.source_payload), registry,
            diag);
  if (!diag.ok()) return nullptr;
  bind_sinks(*g, registry, diag);
  return diag.ok() ? g : nullptr;
}

}  // namespace streams::pipeline
