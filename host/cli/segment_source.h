// One segment's source as deployed, for the tools that act on a segment's
// consumer group from outside it (`offsets`, `pause --config`): what its
// hosts read, as which group, on which brokers. Control plane.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "config/deployment_config.h"
#include "config/diagnostics.h"
#include "config/pipeline_config.h"
#include "kafka/dlq_reader.h"

namespace streams::cli {

// One segment's source as deployed: what its hosts read, as which group.
struct SegmentSource {
  size_t segment = 0;
  std::string topic;
  std::string group;
  std::string brokers;
  std::string control_topic;                       // of its segment pauses
  kafka::Settings settings;                        // the source's connection settings
  kafka::Settings joining;                         // and how its hosts join the group
  bool earliest = false;                           // where a partition without an offset starts
  std::vector<std::string> stateful;               // the segment's steps with state, branches' too
  std::map<std::string, config::StateSpec> state;  // their `state:`, by step
  std::string pipeline;                            // the segment's pipeline name
  std::string state_dir;                           // the deployment's, or ""
  std::string state_backend;
};

// Segment `n` of `p` deployed by `d`; false with errors in `diag`.
bool segment_source(config::PipelineSpec p, config::DeploymentConfig d, size_t n,
                    SegmentSource* out, config::Diagnostics& diag);

// The segment `segment_id` names (-1: the only one) of the pipeline at
// `pipeline_path` deployed by `config_path`; false, the problem printed,
// when a file does not load, the segment does not exist, or the deployment
// has several and none is named.
bool chosen_segment_source(const std::string& pipeline_path, const std::string& config_path,
                           int segment_id, SegmentSource* out);

}  // namespace streams::cli
