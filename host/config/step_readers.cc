#include "config/step_readers.h"

namespace streams::config {
namespace {

constexpr long long kMaxMs = 7LL * 24 * 3600 * 1000;  // a week
constexpr long long kMaxCount = 1000000000LL;

bool read_format(YamlReader& r, const YAML::Node& node, const std::string& key, Codec* out) {
  auto format = r.string(node, key, "format", false);
  *out = Codec::json;
  if (!format || parse_codec(*format, out)) return true;
  r.error(node["format"], join_key(key, "format"),
          "expected " + codec_names() + ", got '" + *format + "'");
  return false;
}

std::string resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || dir.empty()) return path;
  return dir + "/" + path;
}

// window: {type: tumbling|sliding, size: N[, slide: N]} in records, or
// {type: ..., size_ms: N[, slide_ms: N]} in event time.
void read_window(YamlReader& r, const YAML::Node& node, const std::string& key, StepSpec* step) {
  const std::string wkey = join_key(key, "window");
  YAML::Node window = node["window"];
  if (!window) {
    r.error(node, wkey,
            "required key is missing (expected {type: tumbling|sliding, size: RECORDS} or "
            "{type: ..., size_ms: MS})");
    return;
  }
  if (!r.expect_map(window, wkey)) return;
  r.check_keys(window, wkey, {"type", "size", "slide", "size_ms", "slide_ms"});
  auto type = r.string(window, wkey, "type", true);
  if (type && *type != "tumbling" && *type != "sliding") {
    r.error(window["type"], join_key(wkey, "type"),
            "expected tumbling or sliding, got '" + *type + "'");
    return;
  }
  WindowSpec& w = step->window;
  w.by_time = window["size_ms"] || window["slide_ms"];
  if (w.by_time && (window["size"] || window["slide"])) {
    r.error(window, wkey, "give size and slide (records) or size_ms and slide_ms, not both");
    return;
  }
  const char* size_key = w.by_time ? "size_ms" : "size";
  const char* slide_key = w.by_time ? "slide_ms" : "slide";
  const long long max = w.by_time ? kMaxMs : kMaxCount;
  auto size = r.integer(window, wkey, size_key, 1, max);
  if (!size) {
    if (!window[size_key]) r.error(window, join_key(wkey, size_key), "required key is missing");
    return;
  }
  w.size = w.slide = *size;
  auto slide = r.integer(window, wkey, slide_key, 1, max);
  if (type && *type == "tumbling") {
    if (slide && *slide != *size) {
      r.error(window[slide_key], join_key(wkey, slide_key),
              "a tumbling window slides by its size; use type: sliding");
    }
    return;
  }
  if (!slide) {
    if (!window[slide_key]) {
      r.error(window, join_key(wkey, slide_key), "required key is missing for a sliding window");
    }
    return;
  }
  if (*slide > *size) {
    r.error(window[slide_key], join_key(wkey, slide_key),
            "step '" + step->name + "': the window slides by " + std::to_string(*slide) +
                ", more than its size " + std::to_string(*size) +
                "; records between windows would be lost");
  } else if (*size % *slide != 0) {
    r.error(window[slide_key], join_key(wkey, slide_key),
            "step '" + step->name + "': the slide " + std::to_string(*slide) +
                " must divide the window size " + std::to_string(*size));
  }
  w.slide = *slide;
}

void read_group_by(YamlReader& r, const YAML::Node& node, const std::string& key, StepSpec* step) {
  YAML::Node group = node["group_by"];
  if (!group) return;
  const std::string gkey = join_key(key, "group_by");
  if (!r.expect_map(group, gkey)) return;
  r.check_keys(group, gkey, {"plugin", "function", "python"});
  step->group_location = r.at(group, gkey);
  if (group["python"]) {
    if (group["plugin"] || group["function"]) {
      r.error(group, gkey, "give python, or plugin and function, not both");
    }
    read_python_name(r, group, gkey, &step->group_python);
    return;
  }
  if (auto plugin = r.string(group, gkey, "plugin", true)) step->group_plugin = *plugin;
  if (auto fn = r.string(group, gkey, "function", true)) step->group_function = *fn;
}

}  // namespace

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

void read_function(YamlReader& r, const YAML::Node& node, const std::string& key, StepSpec* step) {
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

void read_sink(YamlReader& r, const YAML::Node& node, const std::string& key,
               const SinkTypes& sinks, StepSpec* step) {
  auto type = r.string(node, key, "type", false);
  step->sink_type = type ? sinks.find(*type) : &sinks.fallback();
  if (!step->sink_type) {
    r.error(node["type"], join_key(key, "type"),
            "expected " + sinks.names() + ", got '" + *type + "'");
    return;
  }
  step->sink = step->sink_type->read(r, node, key);
}

void read_header_filter(YamlReader& r, const YAML::Node& node, const std::string& key,
                        StepSpec* step) {
  r.check_keys(node, key, {"kind", "name", "header", "value"});
  if (auto header = r.string(node, key, "header", true)) step->header = *header;
  if (auto value = r.string(node, key, "value", true)) step->header_value = *value;
}

void read_codec_step(YamlReader& r, const YAML::Node& node, const std::string& key,
                     const std::string& dir, StepSpec* step) {
  if (step->kind == StepKind::parser) {
    r.check_keys(node, key, {"kind", "name", "format", "schema"});
    if (auto schema = r.string(node, key, "schema", false)) {
      step->schema_path = resolve(dir, *schema);
      step->schema_location = r.at(node["schema"], join_key(key, "schema"));
    }
  } else {
    r.check_keys(node, key, {"kind", "name", "format"});
  }
  read_format(r, node, key, &step->format);
}

void read_batch(YamlReader& r, const YAML::Node& node, const std::string& key, StepSpec* step) {
  r.check_keys(node, key, {"kind", "name", "max_count", "max_wait_ms", "format"});
  if (auto n = r.integer(node, key, "max_count", 1, kMaxCount)) step->max_count = *n;
  if (auto ms = r.integer(node, key, "max_wait_ms", 1, kMaxMs)) step->max_wait_ms = *ms;
  if (!node["max_count"] && !node["max_wait_ms"]) {
    r.error(node, key, "a batch needs max_count, max_wait_ms or both");
  }
  read_format(r, node, key, &step->format);
}

void read_reduce(YamlReader& r, const YAML::Node& node, const std::string& key, StepSpec* step) {
  r.check_keys(node, key,
               {"kind", "name", "plugin", "function", "python", "config", "window", "group_by",
                "allowed_lateness_ms", "idle_flush_ms"});
  read_function(r, node, key, step);
  read_window(r, node, key, step);
  read_group_by(r, node, key, step);
  if (auto ms = r.integer(node, key, "allowed_lateness_ms", 0, kMaxMs)) {
    step->allowed_lateness_ms = *ms;
  }
  if (auto ms = r.integer(node, key, "idle_flush_ms", 0, kMaxMs)) step->idle_flush_ms = *ms;
  if (!step->window.by_time && (node["allowed_lateness_ms"] || node["idle_flush_ms"])) {
    r.warn(node, key, "allowed_lateness_ms and idle_flush_ms apply to time windows only");
  }
}

}  // namespace streams::config
