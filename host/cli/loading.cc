#include "cli/loading.h"

#include "common/error_report.h"

#include <cstdio>
#include <cstdlib>

#include "config/pipeline_config.h"
#include "kafka/kafka_conf.h"
#include "pipeline/operator.h"
#include "pipeline/segments.h"
#include "plugin/python_provider.h"
#include "sinks/registry.h"

namespace streams::cli {
std::string plugins_dir_of(const PipelineArgs& args, const config::DeploymentConfig& d) {
  if (!args.plugins_dir.empty()) return args.plugins_dir;
  if (d.plugins_dir.empty()) return "plugins";
  if (d.plugins_dir.front() == '/') return d.plugins_dir;
  const size_t slash = d.path.rfind('/');
  return slash == std::string::npos ? d.plugins_dir : d.path.substr(0, slash + 1) + d.plugins_dir;
}

bool load_pipeline(const std::string& path, const config::DeploymentConfig& deployment,
                   plugin::PluginRegistry& registry, config::PipelineSpec* out,
                   config::Diagnostics& diag) {
  if (!config::is_python_pipeline(path)) {
    return config::load_pipeline_spec(path, {pipeline::step_types(), sinks::sink_types()}, out,
                                      diag);
  }
  config::PipelineSpec located;
  located.path = path;
  const std::vector<std::string> dirs = pipeline::python_dirs(located, deployment);
  const std::string code = plugin::PythonProvider::code_hash(dirs);
  std::string text, error;
  std::vector<std::string> warnings;
  const std::string schemas = dirs.back() + "/schemas";
  if (!registry.python().describe(path, dirs, code, schemas, &text, &warnings, &out->python_modules,
                                  &error)) {
    diag.error(config::Location{path, 0, 0, ""}, error);
    return false;
  }
  for (const std::string& w : warnings) diag.warn(config::Location{path, 0, 0, ""}, w);
  out->python_code = code;
  out->python_schemas_dir = schemas;
  return config::load_pipeline_text(path, text, {pipeline::step_types(), sinks::sink_types()}, out,
                                    diag);
}

std::shared_ptr<const pipeline::Generation> load(const PipelineArgs& args, bool kafka,
                                                 config::Diagnostics& diag,
                                                 plugin::PluginRegistry& registry) {
  config::PipelineSpec pipeline;
  config::DeploymentConfig deployment;
  bool deployment_ok = true;
  if (!args.config_path.empty()) {
    deployment_ok = config::load_deployment_config(args.config_path, &deployment, diag);
  } else {
    deployment.segments.emplace_back();
  }
  const bool pipeline_ok = load_pipeline(args.pipeline_path, deployment, registry, &pipeline, diag);
  if (!args.pipeline_name.empty()) pipeline.name = args.pipeline_name;
  if (!pipeline_ok || !deployment_ok) return nullptr;
  size_t segment = 0;
  if (args.segment_id < 0) {
    pipeline::join_segments(&deployment);
  } else if (!pipeline::cut_segment(&pipeline, &deployment, static_cast<size_t>(args.segment_id),
                                    {pipeline::step_types(), sinks::sink_types()}, diag)) {
    return nullptr;
  } else {
    segment = static_cast<size_t>(args.segment_id);
  }
  registry.set_dir(plugins_dir_of(args, deployment));
  registry.set_bundled_dir(plugin::PluginRegistry::default_bundled_dir());
  registry.set_policy({args.allow_plugins_outside_dir, args.allow_writable_plugins});
  auto generation = pipeline::build_generation(std::move(pipeline), std::move(deployment), segment,
                                               registry, diag, kafka);
  if (generation && kafka) {
    kafka::check_kafka_confs(*generation, diag);
    for (size_t i = 0; i < generation->sinks.size(); ++i) {
      generation->sinks[i].type->check(*generation, i, diag);
    }
  }
  return diag.ok() ? generation : nullptr;
}

std::string host_state_dir(const std::string& option) {
  if (!option.empty()) return option;
  const char* env = std::getenv("STREAMS_STATE_DIR");
  return env && *env ? env : "/var/tmp/streams-host";
}

std::string stores_dir(const std::string& option, const std::string& deployment_state_dir,
                       const std::string& pipeline) {
  if (!deployment_state_dir.empty()) return deployment_state_dir;
  const char* env = std::getenv("STREAMS_STATE_DIR");
  if (!option.empty() || (env && *env)) return host_state_dir(option) + "/stores/" + pipeline;
  return "state/" + pipeline;
}

bool add_settings(const char* option, const std::vector<std::string>& settings,
                  std::vector<std::pair<std::string, std::string>>* out) {
  for (const std::string& s : settings) {
    const size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "error: %s %s: expected KEY=VALUE (a librdkafka setting)\n", option,
                   s.c_str());
      return false;
    }
    out->emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  return true;
}

void print_problem(log::Level level, const std::string& what) {
  if (log::format() == log::Format::json) return log::write(level, what);
  std::fprintf(stderr, "%s: %s\n", level == log::Level::warn ? "warning" : "error", what.c_str());
  if (level == log::Level::error) report::capture({report::Level::error, what, {}, {}, {}, {}});
}

void report(const config::Diagnostics& diag) {
  for (const auto& w : diag.warnings()) print_problem(log::Level::warn, w);
  for (const auto& e : diag.errors()) print_problem(log::Level::error, e);
}

}  // namespace streams::cli
