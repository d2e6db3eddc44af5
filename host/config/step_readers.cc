#include "config/step_readers.h"

namespace streams::config {

void read_function_step(YamlReader& r, const YAML::Node& node, const std::string& key,
                        StepSpec* step) {
  r.check_keys(node, key, {"kind", "name", "plugin", "function", "python", "config", "state"});
  read_function(r, node, key, step);
}

bool read_format(YamlReader& r, const YAML::Node& node, const std::string& key, Codec* out) {
  auto format = r.string(node, key, "format", false);
  *out = Codec::json;
  if (!format || parse_codec(*format, out)) return true;
  r.error(node["format"], join_key(key, "format"),
          "expected " + codec_names() + ", got '" + *format + "'");
  return false;
}

std::string resolve_path(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || dir.empty()) return path;
  return dir + "/" + path;
}

bool python_name(const std::string& name) {
  bool start = true;  // at the start of an identifier
  size_t dots = 0;
  for (char c : name) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (c == '.') {
      if (start) return false;
      start = true;
      ++dots;
    } else if (letter || (digit && !start)) {
      start = false;
    } else {
      return false;
    }
  }
  return !start && dots > 0;
}

void read_python_name(YamlReader& r, const YAML::Node& node, const std::string& key,
                      std::string* out) {
  auto name = r.string(node, key, "python", true);
  if (!name) return;
  if (!python_name(*name)) {
    r.error(node["python"], join_key(key, "python"),
            "expected MODULE.FUNCTION, a dotted Python name such as transforms.enrich, got '" +
                *name + "'");
    return;
  }
  *out = *name;
}

void read_state(YamlReader& r, const YAML::Node& node, const std::string& key, StepSpec* step) {
  YAML::Node state = node["state"];
  if (!state) return;
  const std::string skey = join_key(key, "state");
  auto spec = std::make_shared<StateSpec>();
  spec->location = r.at(state, skey);
  if (!state.IsNull()) {
    if (!r.expect_map(state, skey)) return;
    r.check_keys(state, skey, {"ttl_ms", "max_value_bytes"});
    if (auto ttl = r.integer(state, skey, "ttl_ms", 1, kMaxTtlMs)) spec->ttl_ms = *ttl;
    if (auto max = r.integer(state, skey, "max_value_bytes", 1, kMaxStateValueBytes)) {
      spec->max_value_bytes = *max;
    }
  }
  step->state = std::move(spec);
}

void refuse_state_ttl(YamlReader& r, const YAML::Node& node, const std::string& key,
                      const char* kind) {
  YAML::Node state = node["state"];
  if (!state || !state.IsMap() || !state["ttl_ms"]) return;
  r.error(state["ttl_ms"], join_key(join_key(key, "state"), "ttl_ms"),
          std::string("a ") + kind +
              " step's state keeps its open records until they are emitted; they do not expire");
}

void read_function(YamlReader& r, const YAML::Node& node, const std::string& key, StepSpec* step) {
  read_state(r, node, key, step);
  if (node["python"]) {
    step->plugin_location = r.at(node["python"], join_key(key, "python"));
    if (node["plugin"] || node["function"]) {
      r.error(node["python"], join_key(key, "python"),
              "give python, or plugin and function, not both");
    }
    if (node["config"]) {
      r.error(node["config"], join_key(key, "config"),
              "a Python step takes no config: read settings in the module itself");
    }
    read_python_name(r, node, key, &step->python);
    return;
  }
  if (auto plugin = r.string(node, key, "plugin", true)) step->plugin = *plugin;
  if (auto fn = r.string(node, key, "function", true)) step->function = *fn;
  step->plugin_location = r.at(node["plugin"] ? node["plugin"] : node, join_key(key, "plugin"));
  YAML::Node config = node["config"];
  if (config && !config.IsNull()) {
    if (r.expect_map(config, join_key(key, "config"))) step->config_json = yaml_to_json(config);
  }
}

}  // namespace streams::config
