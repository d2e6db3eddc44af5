// The pipeline file: the application's topology. One source (a stream), a
// chain of steps whose functions come from plugins, ending in a sink.
// Immutable once loaded; shared read-only.
#pragma once

#include <string>
#include <vector>

#include "config/diagnostics.h"

namespace streams::config {

enum class StepKind { map, filter, sink };
const char* to_string(StepKind kind);

struct SourceSpec {
  std::string name;
  std::string stream_name;
  Location location;
};

struct StepSpec {
  StepKind kind = StepKind::map;
  std::string name;
  Location location;  // of the step's mapping

  // map / filter: the function and its `config:` subtree as JSON text.
  std::string plugin;
  std::string function;
  std::string config_json = "{}";
  Location plugin_location;

  // sink: the stream (topic) written to.
  std::string stream_name;
};

struct PipelineSpec {
  std::string path;
  std::string name;
  SourceSpec source;
  std::vector<StepSpec> steps;  // the last one is the sink

  const StepSpec& sink() const { return steps.back(); }
};

// Loads and checks `path`. On error returns false with `diag` filled.
bool load_pipeline_spec(const std::string& path, PipelineSpec* out, Diagnostics& diag);

}  // namespace streams::config
