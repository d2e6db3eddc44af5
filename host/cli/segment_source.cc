#include "cli/segment_source.h"

#include "cli/loading.h"
#include "config/connection_settings.h"
#include "kafka/control_topic.h"
#include "kafka/kafka_conf.h"
#include "pipeline/generation.h"
#include "pipeline/operator.h"
#include "pipeline/segments.h"
#include "plugin/plugin_registry.h"
#include "sinks/registry.h"

namespace streams::cli {

bool segment_source(config::PipelineSpec p, config::DeploymentConfig d, size_t n,
                    SegmentSource* out, config::Diagnostics& diag) {
  if (!pipeline::cut_segment(&p, &d, n, {pipeline::step_types(), sinks::sink_types()}, diag)) {
    return false;
  }
  static const config::StepDeployment defaults;
  const auto& steps = d.segments[n].steps_config;
  const auto it = steps.find(p.source.name);
  const config::StepDeployment& s = it == steps.end() ? defaults : it->second;
  out->segment = n;
  out->topic = pipeline::source_topic_of(p, s);
  out->group = pipeline::consumer_group_of(p, s);
  out->brokers = kafka::join_brokers(s.bootstrap_servers);
  out->control_topic = kafka::control_topic_of(s);
  if (out->brokers.empty()) {
    diag.error(config::Location{d.path, 0, 0,
                                "pipeline.segments[" + std::to_string(n) + "].steps_config." +
                                    p.source.name + ".bootstrap_servers"},
               "the source's brokers are needed to read its group's offsets");
    return false;
  }
  out->settings = config::connection_settings(s.override_params);
  for (const auto& [key, value] : s.override_params) {
    if (key == "partition.assignment.strategy" || key == "session.timeout.ms") {
      out->joining.emplace_back(key, value);
    }
  }
  out->earliest = s.auto_offset_reset == config::OffsetReset::earliest;
  for (const config::StepSpec* step : p.all_steps()) {
    if (!step->state) continue;
    out->stateful.push_back(step->name);
    out->state[step->name] = *step->state;
  }
  out->pipeline = p.name;
  out->state_dir = d.state_dir;
  out->state_backend = d.state_backend;
  return true;
}

bool chosen_segment_source(const std::string& pipeline_path, const std::string& config_path,
                           int segment_id, SegmentSource* out) {
  config::Diagnostics diag;
  config::DeploymentConfig deployment;
  config::PipelineSpec pipeline;
  plugin::PluginRegistry registry("");
  const bool ok = config::load_deployment_config(config_path, &deployment, diag) &&
                  load_pipeline(pipeline_path, deployment, registry, &pipeline, diag);
  report(diag);
  if (!ok) return false;
  const size_t count = deployment.segments.size();
  if (segment_id >= 0 && static_cast<size_t>(segment_id) >= count) {
    print_problem(log::Level::error, config_path + ": no segment " + std::to_string(segment_id) +
                                         " (it has " + std::to_string(count) + ")");
    return false;
  }
  if (segment_id < 0 && count > 1) {
    print_problem(log::Level::error, config_path + " has " + std::to_string(count) +
                                         " segments: choose one with --segment-id");
    return false;
  }
  const bool found = segment_source(
      pipeline, deployment, segment_id < 0 ? 0 : static_cast<size_t>(segment_id), out, diag);
  report(diag);
  return found;
}

}  // namespace streams::cli
