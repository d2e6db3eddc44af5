// The pipeline file: the application's topology. One source (a stream), a
// list of steps whose functions come from plugins; `route` and `broadcast`
// end their list and continue in named branches, and every list ends in a
// sink or a branching step. Immutable once loaded; shared read-only.
#pragma once

#include <string>
#include <vector>

#include "config/diagnostics.h"

namespace streams::config {

enum class StepKind { map, filter, flat_map, header_filter, route, broadcast, sink };
const char* to_string(StepKind kind);
// Steps whose function comes from a plugin.
bool uses_plugin(StepKind kind);
bool is_branching(StepKind kind);

enum class SinkType { kafka, devnull, file };
const char* to_string(SinkType type);

struct SourceSpec {
  std::string name;
  std::string stream_name;
  Location location;
};

struct StepSpec;

struct BranchSpec {
  std::string name;
  Location location;
  std::vector<StepSpec> steps;  // ends in a sink or a branching step
};

struct StepSpec {
  StepKind kind = StepKind::map;
  std::string name;
  Location location;  // of the step's mapping

  // map / filter / flat_map / route: the function and its `config:` subtree
  // as JSON text.
  std::string plugin;
  std::string function;
  std::string config_json = "{}";
  Location plugin_location;

  // header_filter: keep records whose first header `header` equals `value`.
  std::string header;
  std::string header_value;

  // sink: kafka writes to `stream_name`; file appends lines to `path`.
  SinkType sink_type = SinkType::kafka;
  std::string stream_name;
  std::string path;

  // route / broadcast
  std::vector<BranchSpec> branches;
};

struct PipelineSpec {
  std::string path;
  std::string name;
  SourceSpec source;
  std::vector<StepSpec> steps;  // the top-level list

  // Every sink in the tree, in file order.
  std::vector<const StepSpec*> sinks() const;
  // Every step in the tree, in file order (a step before its branches).
  std::vector<const StepSpec*> all_steps() const;
};

// Loads and checks `path`. On error returns false with `diag` filled.
bool load_pipeline_spec(const std::string& path, PipelineSpec* out, Diagnostics& diag);

}  // namespace streams::config
