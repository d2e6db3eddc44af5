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

namespace streams::config {

enum class StepKind {
  map,
  filter,
  flat_map,
  header_filter,
  parser,
  serializer,
  batch,
  reduce,
  route,
  broadcast,
  sink
};
const char* to_string(StepKind kind);
// Steps whose function comes from a plugin.
bool uses_plugin(StepKind kind);
bool is_branching(StepKind kind);

// Wire formats of parser, serializer and batch.
enum class Codec { json, msgpack };
const char* to_string(Codec codec);
bool parse_codec(std::string_view text, Codec* out);
std::string codec_names();  // "json or msgpack"

// A reduce step's window. Count windows measure `size` and `slide` in
// records, time windows in milliseconds of event time. A tumbling window has
// slide == size; a sliding one a slide that divides its size.
struct WindowSpec {
  bool by_time = false;
  int64_t size = 0;
  int64_t slide = 0;
  bool sliding() const { return slide != size; }
};

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

  // map / filter / flat_map / route / reduce: the function and its
  // `config:` subtree as JSON text, from a plugin; or, with `python:`, the
  // Python callable of that dotted name (plugin and function stay empty).
  std::string plugin;
  std::string function;
  std::string python;
  std::string config_json = "{}";
  Location plugin_location;  // of `plugin:` (or `python:`)

  // header_filter: keep records whose first header `header` equals `value`.
  std::string header;
  std::string header_value;

  // parser / serializer / batch: the format; parser: an optional JSON Schema
  // file (absolute, resolved against the pipeline file's directory).
  Codec format = Codec::json;
  std::string schema_path;
  Location schema_location;

  // batch: emit when `max_count` records are held or the oldest has waited
  // `max_wait_ms` (0 = no such limit; at least one is set).
  int64_t max_count = 0;
  int64_t max_wait_ms = 0;

  // reduce: an aggregate function (plugin/function above) over `window`,
  // per group key from the map function group_plugin/group_function (none:
  // one group). Time windows close when the partition's event-time watermark
  // (highest timestamp seen minus allowed_lateness_ms) passes their end, or
  // when the partition has had no input for idle_flush_ms (0 = never).
  WindowSpec window;
  std::string group_plugin;
  std::string group_function;
  std::string group_python;
  Location group_location;
  int64_t allowed_lateness_ms = 0;
  int64_t idle_flush_ms = 0;

  // sink: its type (`type:`, kafka when absent) and the settings it read.
  const SinkType* sink_type = nullptr;
  std::shared_ptr<const SinkSettings> sink;

  // route / broadcast
  std::vector<BranchSpec> branches;
};

struct PipelineSpec {
  std::string path;
  // A Python pipeline file: the version (hash) of the modules it was run
  // with; empty for YAML.
  std::string python_code;
  std::string name;
  SourceSpec source;
  std::vector<StepSpec> steps;  // the top-level list

  // Every sink in the tree, in file order.
  std::vector<const StepSpec*> sinks() const;
  // Every step in the tree, in file order (a step before its branches).
  std::vector<const StepSpec*> all_steps() const;
};

// Loads and checks `path`; sink steps are read by their type in `sinks`
// (which outlives `out`). On error returns false with `diag` filled.
bool load_pipeline_spec(const std::string& path, const SinkTypes& sinks, PipelineSpec* out,
                        Diagnostics& diag);

// The same from `text`, the YAML describing the Python pipeline file `path`
// (host/python/describe.h): diagnostics name `path` and, where a line of
// the text ends in "#@ N", line N.
bool load_pipeline_text(const std::string& path, const std::string& text, const SinkTypes& sinks,
                        PipelineSpec* out, Diagnostics& diag);

// True if `path` names a Python pipeline file (*.py).
bool is_python_pipeline(const std::string& path);

}  // namespace streams::config
