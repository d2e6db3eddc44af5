// Helpers for the StepType::read of each kind (pipeline/operators/): the
// keys several kinds share.
#pragma once

#include <string>

#include "config/pipeline_config.h"
#include "config/yaml_reader.h"

namespace streams::config {

// True for a dotted Python name with a module: "transforms.enrich".
bool python_name(const std::string& name);
// `python:` of `node` into *out, checked with python_name.
void read_python_name(YamlReader& r, const YAML::Node& node, const std::string& key,
                      std::string* out);
// plugin, function and config, or python, and state (map, filter,
// flat_map, route, reduce).
void read_function(YamlReader& r, const YAML::Node& node, const std::string& key, StepSpec* step);
// `state:` of `node`, if any, into step->state.
void read_state(YamlReader& r, const YAML::Node& node, const std::string& key, StepSpec* step);
// A `state.ttl_ms` is an error: the state of a `kind` step (reduce, batch)
// keeps its open windows or batch.
void refuse_state_ttl(YamlReader& r, const YAML::Node& node, const std::string& key,
                      const char* kind);
// A step whose keys are its function's only (map, filter, flat_map).
void read_function_step(YamlReader& r, const YAML::Node& node, const std::string& key,
                        StepSpec* step);
// `format` (absent: json) into *out; false after reporting a bad one.
bool read_format(YamlReader& r, const YAML::Node& node, const std::string& key, Codec* out);
// `path` against the pipeline file's directory `dir`, unless absolute.
std::string resolve_path(const std::string& dir, const std::string& path);

// Upper bounds of durations and counts in step settings.
constexpr long long kMaxMs = 7LL * 24 * 3600 * 1000;  // a week
constexpr long long kMaxCount = 1000000000LL;
// Upper bounds of `state:` settings.
constexpr long long kMaxTtlMs = 10LL * 365 * 24 * 3600 * 1000;  // ten years
constexpr long long kMaxStateValueBytes = 64LL << 20;

}  // namespace streams::config
