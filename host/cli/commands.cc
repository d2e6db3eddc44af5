#include "cli/commands.h"

#include <cstdio>
#include <memory>

#include "common/log.h"
#include "config/deployment_config.h"
#include "config/pipeline_config.h"
#include "kafka/kafka_conf.h"
#include "kafka/kafka_runtime.h"
#include "pipeline/generation.h"
#include "plugin/plugin_registry.h"

namespace streams::cli {
namespace {

std::string resolve_plugins_dir(const PipelineArgs& args, const config::DeploymentConfig& d) {
  if (!args.plugins_dir.empty()) return args.plugins_dir;
  if (d.plugins_dir.empty()) return "plugins";
  if (d.plugins_dir.front() == '/') return d.plugins_dir;
  const size_t slash = d.path.rfind('/');
  return slash == std::string::npos ? d.plugins_dir : d.path.substr(0, slash + 1) + d.plugins_dir;
}

std::shared_ptr<const pipeline::Generation> load(const PipelineArgs& args,
                                                 config::Diagnostics& diag) {
  config::PipelineSpec pipeline;
  config::DeploymentConfig deployment;
  const bool pipeline_ok = config::load_pipeline_spec(args.pipeline_path, &pipeline, diag);
  const bool deployment_ok = config::load_deployment_config(args.config_path, &deployment, diag);
  if (!pipeline_ok || !deployment_ok) return nullptr;
  plugin::PluginRegistry registry(resolve_plugins_dir(args, deployment));
  auto generation =
      pipeline::build_generation(std::move(pipeline), std::move(deployment),
                                 static_cast<size_t>(args.segment_id), registry, diag);
  if (generation) kafka::check_kafka_confs(*generation, diag);
  return diag.ok() ? generation : nullptr;
}

void report(const config::Diagnostics& diag) {
  for (const auto& w : diag.warnings()) std::fprintf(stderr, "warning: %s\n", w.c_str());
  for (const auto& e : diag.errors()) std::fprintf(stderr, "error: %s\n", e.c_str());
}

}  // namespace

int validate_command(const PipelineArgs& args) {
  config::Diagnostics diag;
  auto generation = load(args, diag);
  report(diag);
  if (!generation) return 2;
  std::string sinks;
  for (const auto& sink : generation->sinks) {
    sinks += (sinks.empty() ? "" : ", ") + sink.name + " (" +
             (sink.type == config::SinkType::kafka  ? sink.topic
              : sink.type == config::SinkType::file ? sink.path
                                                    : "devnull") +
             ")";
  }
  std::printf("ok: %s: source %s (%s) -> %zu step(s) -> sinks %s\n", args.pipeline_path.c_str(),
              generation->pipeline.source.name.c_str(), generation->source_topic().c_str(),
              generation->steps.size() - generation->sinks.size(), sinks.c_str());
  return 0;
}

int run_command(const RunArgs& args, const std::atomic<bool>& stop) {
  log::Level level;
  if (!log::parse_level(args.log_level, &level)) {
    std::fprintf(stderr, "error: --log-level: expected debug, info, warn or error, got '%s'\n",
                 args.log_level.c_str());
    return 2;
  }
  log::set_level(level);
  config::Diagnostics diag;
  auto generation = load(args.pipeline, diag);
  report(diag);
  if (!generation) return 2;
  for (const auto& step : generation->steps) {
    if (!step.function) continue;
    log::info("step '" + step.name + "': " + step.plugin + " " + step.plugin_version + " (" +
              step.library->path() + ")");
  }
  kafka::RuntimeOptions options;
  options.client_id = args.name.empty() ? "streams-host-" + generation->pipeline.name : args.name;
  std::string error;
  auto runtime = kafka::create_kafka_runtime(generation, options, &error);
  if (!runtime) {
    std::fprintf(stderr, "error: %s\n", error.c_str());
    return 1;
  }
  return runtime->run(stop);
}

}  // namespace streams::cli
