// Typed, located reads from a yaml-cpp tree. Every failed read adds one
// diagnostic naming file, line, key and what was expected. Internal to
// config/; nothing outside config/ sees yaml-cpp.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/diagnostics.h"

namespace streams::config {

// Bounds on a configuration file, checked by YamlReader::load() before
// anything else reads the document: its size, and the nodes it expands to
// with every alias followed (an alias "bomb" of 10^7 nodes is refused in
// milliseconds). yaml-cpp itself refuses nesting deeper than 2000.
inline constexpr size_t kMaxConfigFileBytes = size_t{1} << 20;
inline constexpr size_t kMaxConfigNodes = 100000;

class YamlReader {
 public:
  // `resolve_env`: replace a scalar that is exactly ${envvar:NAME} by the
  // environment variable NAME; a missing variable is an error, or with
  // `require_env` false stays as written (for commands that need no broker).
  YamlReader(std::string file, Diagnostics& diag, bool resolve_env, bool require_env = true)
      : file_(std::move(file)), diag_(diag), resolve_env_(resolve_env), require_env_(require_env) {}

  // Parses the file and checks it within the bounds above: every scalar and
  // key valid UTF-8, no key twice in a mapping. On failure adds diagnostics
  // and returns a null node.
  YAML::Node load();
  // Makes load() parse `text` instead of the file; a line of it ending in
  // "#@ N" is reported as line N of the file (0: no line).
  void set_text(std::string text);

  Location at(const YAML::Node& node, const std::string& key) const;
  void error(const YAML::Node& node, const std::string& key, const std::string& message);
  void warn(const YAML::Node& node, const std::string& key, const std::string& message);

  bool expect_map(const YAML::Node& node, const std::string& key);
  bool expect_sequence(const YAML::Node& node, const std::string& key);
  // Errors (or with `unknown_note`, warnings ending in it) for each key of
  // `map` not in `allowed`.
  void check_keys(const YAML::Node& map, const std::string& key,
                  std::initializer_list<const char*> allowed, const char* unknown_note = nullptr);

  // Reads map[name]; `key` is the dotted path of `map`. Absent: nullopt,
  // and an error if `required`.
  std::optional<std::string> string(const YAML::Node& map, const std::string& key, const char* name,
                                    bool required);
  std::optional<long long> integer(const YAML::Node& map, const std::string& key, const char* name,
                                   long long min, long long max);
  std::optional<double> number(const YAML::Node& map, const std::string& key, const char* name,
                               double min, double max);
  std::optional<bool> boolean(const YAML::Node& map, const std::string& key, const char* name);
  // A list of strings, or one string taken as a one-element list.
  std::optional<std::vector<std::string>> string_list(const YAML::Node& map, const std::string& key,
                                                      const char* name);
  // A map of scalars to strings (e.g. librdkafka properties).
  std::vector<std::pair<std::string, std::string>> string_map(const YAML::Node& map,
                                                              const std::string& key,
                                                              const char* name);

  // The scalar text of `node` with ${envvar:...} resolved; nullopt + error if
  // not a scalar or the variable is missing.
  std::optional<std::string> scalar(const YAML::Node& node, const std::string& key,
                                    const char* expected);

  // `node` as JSON text, like yaml_to_json, with ${envvar:} resolved in
  // its strings when this reader resolves them ("{}" for none).
  std::string json(const YAML::Node& node, const std::string& key);

  const std::string& file() const { return file_; }

 private:
  // With set_text: the file's line for line `line` (0-based) of the text.
  int source_line(int line) const {
    return line >= 0 && static_cast<size_t>(line) < line_map_.size() ? line_map_[line] : 0;
  }
  std::string file_;
  bool has_text_ = false;
  std::string text_;
  std::vector<int> line_map_;  // with set_text: the file's line of each line of text_
  Diagnostics& diag_;
  bool resolve_env_;
  bool require_env_;
};

// "a.b" + "c" -> "a.b.c"; "" + "c" -> "c".
std::string join_key(const std::string& parent, const std::string& child);
std::string index_key(const std::string& parent, size_t index);

// Converts a YAML subtree to JSON text. Plain scalars become numbers, booleans
// or null where they parse as such; quoted scalars stay strings.
std::string yaml_to_json(const YAML::Node& node);

}  // namespace streams::config
