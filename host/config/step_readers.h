// Readers for the keys of each step kind in the pipeline file. Internal to
// config/ (pipeline_config.cc reads the tree and calls these per step).
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
// plugin, function and config, or python (map, filter, flat_map, route,
// reduce).
void read_function(YamlReader& r, const YAML::Node& node, const std::string& key, StepSpec* step);
// `type` (absent: the fallback type) and the settings that type reads.
void read_sink(YamlReader& r, const YAML::Node& node, const std::string& key,
               const SinkTypes& sinks, StepSpec* step);
void read_header_filter(YamlReader& r, const YAML::Node& node, const std::string& key,
                        StepSpec* step);
// parser and serializer; `dir` is the pipeline file's directory.
void read_codec_step(YamlReader& r, const YAML::Node& node, const std::string& key,
                     const std::string& dir, StepSpec* step);
void read_batch(YamlReader& r, const YAML::Node& node, const std::string& key, StepSpec* step);
void read_reduce(YamlReader& r, const YAML::Node& node, const std::string& key, StepSpec* step);

}  // namespace streams::config
