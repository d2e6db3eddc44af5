// The step settings a deployment changes: a segment's steps_config entry
// for a step may override what the pipeline file gave it (the original's
// overrides, such as a Batch's batch_size), through StepType::deploy.
// Control plane; applied before a generation is built and by `graph`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/deployment_config.h"
#include "config/diagnostics.h"
#include "config/pipeline_config.h"

namespace streams::config {

// Puts into `pipeline`'s steps (and their branches) the settings `entries`
// (by step name) change; an entry setting what its step's kind (a sink's
// type; the source: none) does not take is a warning at the entry.
void apply_step_deployment(PipelineSpec& pipeline,
                           const std::map<std::string, StepDeployment>& entries, Diagnostics& diag);

}  // namespace streams::config
