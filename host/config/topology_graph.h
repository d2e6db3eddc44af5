// Renders a pipeline's topology as Mermaid or Graphviz DOT text, with one
// cluster per deployment segment (control plane; `streams-host graph`).
#pragma once

#include <map>
#include <string>

#include "config/deployment_config.h"
#include "config/pipeline_config.h"

namespace streams::config {

enum class GraphFormat { mermaid, dot };

// A step belongs to the segment whose steps_config marks it `starts_segment`,
// else to its parent's; the source starts segment 0. `deployment` may be
// null (one segment).
std::string render_graph(const PipelineSpec& pipeline, const DeploymentConfig* deployment,
                         GraphFormat format);

// The segment of each step (by name), by the same rule.
std::map<std::string, size_t> step_segments(const PipelineSpec& pipeline,
                                            const DeploymentConfig* deployment);

}  // namespace streams::config
