// The pipeline file: the application's topology. One source (a stream), a
// list of steps whose functions come from plugins; `route` and `broadcast`
// end their list and continue in named branches, and every list ends in a
// sink or a branching step. Immutable once loaded; shared read-only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.h"
#include "config/sink_type.h"
#include "config/step_type.h"

namespace streams::config {

// Wire formats of parser, serializer and batch.
enum class Codec { json, msgpack };
const char* to_string(Codec codec);
bool parse_codec(std::string_view text, Codec* out);
std::string codec_names();  // "json or msgpack"

struct SourceSpec {
  std::string name;
  std::string stream_name;
  Location location;
};

struct StepSpec;

// A step's `state:`: it keeps platform state (host/state/).
struct StateSpec {
  long long ttl_ms = 0;  // 0: entries never expire
  long long max_value_bytes = 1LL << 20;
  Location location;
};

struct BranchSpec {
  std::string name;
  Location location;
  std::vector<StepSpec> steps;  // ends in a sink or a branching step
};

struct StepSpec {
  const StepType* type = nullptr;  // its `kind` (step_type.h); never null once read
  std::string name;
  Location location;  // of the step's mapping

  // The kind's name, for messages.
  const char* kind() const { return type->name(); }

  // A kind that uses a function (StepType::uses_function): the function
  // and its `config:` subtree as JSON text, from a plugin; or, with
  // `python:`, the Python callable of that dotted name (plugin and function
  // stay empty).
  std::string plugin;
  std::string function;
  std::string python;
  std::string config_json = "{}";
  Location plugin_location;  // of `plugin:` (or `python:`)

  // An optional second function giving each record's key (a reduce's
  // `group_by`): a map from a plugin, or a Python callable.
  std::string group_plugin;
  std::string group_function;
  std::string group_python;
  Location group_location;

  // `state:`, on a step whose function keeps state; null: none declared.
  std::shared_ptr<const StateSpec> state;

  // The kind's own settings, read by its type (null: it has none).
  std::shared_ptr<const StepSettings> settings;

  // sink: its type (`type:`, kafka when absent) and the settings it read.
  const SinkType* sink_type = nullptr;
  std::shared_ptr<const SinkSettings> sink;

  // A branching kind's branches, in file order.
  std::vector<BranchSpec> branches;
};

struct PipelineSpec {
  std::string path;
  // A Python pipeline file: the version (hash) of the modules it was run
  // with; empty for YAML.
  std::string python_code;
  // A Python pipeline file: the files of the user's modules it imported
  // (render puts those beside it into the ConfigMap).
  std::vector<std::string> python_modules;
  // A Python pipeline file: where its Parser steps look for schemas (one
  // added there later is a change a reload applies).
  std::string python_schemas_dir;
  std::string name;
  SourceSpec source;
  std::vector<StepSpec> steps;  // the top-level list
  // What the source's records are, as pipeline::Payload (0: bytes): a
  // segment's source gives what crossed into it (JSON text after a parser).
  int source_payload = 0;
  // A segment run alone (pipeline/segments.h): the sink writing what crosses
  // into the next segment (empty: none).
  std::string crossing_sink;

  // Every sink in the tree, in file order.
  std::vector<const StepSpec*> sinks() const;
  // Every step in the tree, in file order (a step before its branches).
  std::vector<const StepSpec*> all_steps() const;
};

// The kinds and sink types a pipeline file may name; both outlive the specs
// read with them.
struct Components {
  const StepTypes& steps;
  const SinkTypes& sinks;
};

// Loads and checks `path`; each step is read by its kind's type in
// `components`. On error returns false with `diag` filled.
bool load_pipeline_spec(const std::string& path, const Components& components, PipelineSpec* out,
                        Diagnostics& diag);

// The same from `text`, the YAML describing the Python pipeline file `path`
// (host/python/describe.h): diagnostics name `path` and, where a line of
// the text ends in "#@ N", line N.
bool load_pipeline_text(const std::string& path, const std::string& text,
                        const Components& components, PipelineSpec* out, Diagnostics& diag);

// True if `path` names a Python pipeline file (*.py).
bool is_python_pipeline(const std::string& path);

}  // namespace streams::config
