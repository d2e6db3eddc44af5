#include "pipeline/segments.h"

#include "config/connection_settings.h"

#include <nlohmann/json.hpp>

#include "config/topology_graph.h"
#include "pipeline/operator.h"

namespace streams::pipeline {
namespace {

using config::Location;

// False with an error when a step in `branches` (of main-line step `top`,
// at any depth) is in another segment than `top`.
bool same_segment_inside(const config::StepSpec& top,
                         const std::vector<config::BranchSpec>& branches,
                         const std::map<std::string, size_t>& of, config::Diagnostics& diag) {
  for (const config::BranchSpec& b : branches) {
    for (const config::StepSpec& s : b.steps) {
      if (of.at(s.name) != of.at(top.name)) {
        diag.error(s.location, "step '" + s.name + "' starts a segment inside a branch of '" +
                                   top.name + "': segments start on the pipeline's main line");
        return false;
      }
      if (!same_segment_inside(top, s.branches, of, diag)) return false;
    }
  }
  return true;
}

// Index, in the main line, of the first step of each segment (segment 0:
// 0). False with errors: a segment started inside a branch, or by no step.
bool segment_starts(const config::PipelineSpec& p, const config::DeploymentConfig& d,
                    std::vector<size_t>* first, config::Diagnostics& diag) {
  const auto of = config::step_segments(p, &d);
  const size_t count = d.segments.size();
  first->assign(count, SIZE_MAX);
  (*first)[0] = 0;
  size_t current = 0;
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const size_t s = of.at(p.steps[i].name);
    if (s != current) {
      if (s < current || (*first)[s] != SIZE_MAX) {
        diag.error(p.steps[i].location, "step '" + p.steps[i].name + "' starts segment " +
                                            std::to_string(s) + " after segment " +
                                            std::to_string(current) +
                                            " began: segments follow the pipeline's order");
        return false;
      }
      (*first)[s] = i;
      current = s;
    }
  }
  // A branch's steps belong to their branching step's segment.
  for (const config::StepSpec& top : p.steps) {
    if (!same_segment_inside(top, top.branches, of, diag)) return false;
  }
  for (size_t s = 1; s < count; ++s) {
    if ((*first)[s] != SIZE_MAX) continue;
    Location at = d.segments[s].location;
    at.file = d.path;
    at.key = "pipeline.segments[" + std::to_string(s) + "]";
    diag.error(at, "no step of " + p.path +
                       " starts this segment (expected a steps_config entry "
                       "with starts_segment: true naming a step of the pipeline's main line)");
    return false;
  }
  return true;
}

const config::StepDeployment* entry(const config::DeploymentConfig& d, size_t segment,
                                    const std::string& name) {
  const auto& steps = d.segments[segment].steps_config;
  auto it = steps.find(name);
  return it == steps.end() ? nullptr : &it->second;
}

// The Kafka sink writing what crosses into the segment that `next` starts.
bool crossing_sink(const config::PipelineSpec& p, const std::string& next, const std::string& topic,
                   const config::Components& components, config::StepSpec* out,
                   config::Diagnostics& diag) {
  const std::string text = "source: {name: s, stream_name: s}\nsteps:\n  - {kind: sink, name: " +
                           nlohmann::json(next).dump() +
                           ", stream_name: " + nlohmann::json(topic).dump() + "}\n";
  config::PipelineSpec mini;
  if (!config::load_pipeline_text(p.path, text, components, &mini, diag)) return false;
  *out = std::move(mini.steps[0]);
  return true;
}

}  // namespace

std::string segment_topic(const config::PipelineSpec& pipeline,
                          const config::DeploymentConfig& deployment, size_t n) {
  const auto of = config::step_segments(pipeline, &deployment);
  for (const config::StepSpec& step : pipeline.steps) {
    if (of.at(step.name) != n) continue;
    const config::StepDeployment* e = entry(deployment, n, step.name);
    return e && !e->topic.empty() ? e->topic : pipeline.name + "-" + step.name;
  }
  return "";
}

bool cut_segment(config::PipelineSpec* pipeline, config::DeploymentConfig* deployment, size_t n,
                 const config::Components& components, config::Diagnostics& diag) {
  config::PipelineSpec& p = *pipeline;
  config::DeploymentConfig& d = *deployment;
  if (n >= d.segments.size()) {
    diag.error(Location{d.path, 0, 0, "pipeline.segments"}, "no segment " + std::to_string(n) +
                                                                ": the deployment has " +
                                                                std::to_string(d.segments.size()));
    return false;
  }
  if (d.segments.size() == 1) return true;
  std::vector<size_t> first;
  if (!segment_starts(p, d, &first, diag)) return false;
  const size_t begin = first[n];
  const size_t end = n + 1 < first.size() ? first[n + 1] : p.steps.size();
  const config::StepDeployment* source = entry(d, 0, p.source.name);
  auto& steps = d.segments[n].steps_config;

  // What the records crossing in are (JSON text after a parser...).
  Payload form = Payload::bytes;
  for (size_t i = 0; i < begin; ++i) {
    if (const auto* op = dynamic_cast<const Operator*>(p.steps[i].type)) {
      form = op->payload_after(p.steps[i], form);
    }
  }
  config::StepSpec sink;
  if (n + 1 < first.size()) {
    const std::string& next = p.steps[end].name;
    if (!crossing_sink(p, next, segment_topic(p, d, n + 1), components, &sink, diag)) return false;
    config::StepDeployment out;
    if (const config::StepDeployment* e = entry(d, n + 1, next)) out = *e;
    out.name = next;
    out.topic.clear();  // the sink's stream_name is the topic
    out.starts_segment = false;
    if (out.bootstrap_servers.empty() && source) out.bootstrap_servers = source->bootstrap_servers;
    steps[next] = out;  // its producer takes the connection settings (kafka_conf.h)
  }
  if (n > 0) {
    const std::string& start = p.steps[begin].name;
    config::StepDeployment& in = steps[start];
    if (in.bootstrap_servers.empty() && source) in.bootstrap_servers = source->bootstrap_servers;
    // A hop on the pipeline source's cluster connects as its source does:
    // the source's connection settings first, the step's own winning.
    if (source && config::same_brokers(in.bootstrap_servers, source->bootstrap_servers)) {
      config::Settings params = config::connection_settings(source->override_params);
      params.insert(params.end(), in.override_params.begin(), in.override_params.end());
      in.override_params = std::move(params);
    }
    p.source.stream_name = segment_topic(p, d, n);
    in.topic.clear();
    p.source.name = start;
    p.source.location = p.steps[begin].location;
  }
  std::vector<config::StepSpec> kept(std::make_move_iterator(p.steps.begin() + begin),
                                     std::make_move_iterator(p.steps.begin() + end));
  if (sink.type) {
    p.crossing_sink = sink.name;
    kept.push_back(std::move(sink));
  }
  p.steps = std::move(kept);
  p.source_payload = static_cast<int>(form);
  return true;
}

void join_segments(config::DeploymentConfig* deployment) {
  auto& segments = deployment->segments;
  for (size_t s = 1; s < segments.size(); ++s) {
    for (auto& [name, step] : segments[s].steps_config) {
      segments[0].steps_config.emplace(name, step);
    }
  }
}

}  // namespace streams::pipeline
