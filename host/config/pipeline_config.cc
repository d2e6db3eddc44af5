#include "config/pipeline_config.h"

#include <set>

#include "config/yaml_reader.h"

namespace streams::config {
namespace {

bool parse_kind(const std::string& text, StepKind* kind) {
  if (text == "map")
    *kind = StepKind::map;
  else if (text == "filter")
    *kind = StepKind::filter;
  else if (text == "sink")
    *kind = StepKind::sink;
  else
    return false;
  return true;
}

void read_function(YamlReader& r, const YAML::Node& node, const std::string& key, StepSpec* step) {
  r.check_keys(node, key, {"kind", "name", "plugin", "function", "config"});
  if (auto plugin = r.string(node, key, "plugin", true)) step->plugin = *plugin;
  if (auto fn = r.string(node, key, "function", true)) step->function = *fn;
  step->plugin_location = r.at(node["plugin"] ? node["plugin"] : node, join_key(key, "plugin"));
  YAML::Node config = node["config"];
  if (config && !config.IsNull()) {
    if (r.expect_map(config, join_key(key, "config"))) step->config_json = yaml_to_json(config);
  }
}

void read_sink(YamlReader& r, const YAML::Node& node, const std::string& key, StepSpec* step) {
  r.check_keys(node, key, {"kind", "name", "type", "stream_name"});
  auto type = r.string(node, key, "type", false);
  if (type && *type != "kafka") {
    r.error(node["type"], join_key(key, "type"), "expected kafka, got '" + *type + "'");
  }
  if (auto stream = r.string(node, key, "stream_name", true)) step->stream_name = *stream;
}

bool read_step(YamlReader& r, const YAML::Node& node, const std::string& key, StepSpec* step) {
  if (!r.expect_map(node, key)) return false;
  step->location = r.at(node, key);
  auto kind = r.string(node, key, "kind", true);
  if (auto name = r.string(node, key, "name", true)) step->name = *name;
  if (!kind) return false;
  if (!parse_kind(*kind, &step->kind)) {
    r.error(node["kind"], join_key(key, "kind"),
            "unknown step kind '" + *kind + "'; expected one of map, filter, sink");
    return false;
  }
  if (step->kind == StepKind::sink)
    read_sink(r, node, key, step);
  else
    read_function(r, node, key, step);
  return true;
}

void read_source(YamlReader& r, const YAML::Node& root, PipelineSpec* out) {
  YAML::Node source = root["source"];
  if (!source) {
    r.error(root, "source", "required key is missing (expected {name, stream_name})");
    return;
  }
  if (!r.expect_map(source, "source")) return;
  r.check_keys(source, "source", {"name", "stream_name"});
  out->source.location = r.at(source, "source");
  if (auto name = r.string(source, "source", "name", true)) out->source.name = *name;
  if (auto stream = r.string(source, "source", "stream_name", true)) {
    out->source.stream_name = *stream;
  }
}

void check_chain(YamlReader& r, const YAML::Node& steps, PipelineSpec* out) {
  std::set<std::string> names{out->source.name};
  for (size_t i = 0; i < out->steps.size(); ++i) {
    const StepSpec& step = out->steps[i];
    const std::string key = index_key("steps", i);
    if (!step.name.empty() && !names.insert(step.name).second) {
      r.error(steps[i]["name"], join_key(key, "name"), "duplicate step name '" + step.name + "'");
    }
    const bool last = i + 1 == out->steps.size();
    if (step.kind == StepKind::sink && !last) {
      r.error(steps[i], key,
              "a sink must be the last step; '" + step.name + "' is followed by more");
    }
    if (last && step.kind != StepKind::sink) {
      r.error(steps[i], key,
              "the pipeline must end in a sink; last step '" + step.name + "' is a " +
                  to_string(step.kind));
    }
  }
}

}  // namespace

const char* to_string(StepKind kind) {
  switch (kind) {
    case StepKind::map:
      return "map";
    case StepKind::filter:
      return "filter";
    case StepKind::sink:
      return "sink";
  }
  return "?";
}

bool load_pipeline_spec(const std::string& path, PipelineSpec* out, Diagnostics& diag) {
  YamlReader r(path, diag, /*resolve_env=*/false);
  YAML::Node root = r.load();
  if (!diag.ok()) return false;
  out->path = path;
  if (!r.expect_map(root, "")) return false;
  r.check_keys(root, "", {"name", "source", "steps"});
  read_source(r, root, out);
  if (auto name = r.string(root, "", "name", false)) out->name = *name;
  if (out->name.empty()) out->name = out->source.name;
  YAML::Node steps = root["steps"];
  if (!steps) {
    r.error(root, "steps", "required key is missing (expected a list of steps ending in a sink)");
    return false;
  }
  if (!r.expect_sequence(steps, "steps")) return false;
  if (steps.size() == 0) {
    r.error(steps, "steps", "expected at least one step (a sink)");
    return false;
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    StepSpec step;
    if (read_step(r, steps[i], index_key("steps", i), &step)) out->steps.push_back(std::move(step));
  }
  if (diag.ok()) check_chain(r, steps, out);
  return diag.ok();
}

}  // namespace streams::config
