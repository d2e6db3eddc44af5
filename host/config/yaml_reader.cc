#include "config/yaml_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/edit_distance.h"
#include "common/utf8.h"

namespace streams::config {
namespace {

constexpr const char* kEnvPrefix = "${envvar:";

std::string kind_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar() + "'";
    case YAML::NodeType::Null:
      return "nothing";
    default:
      return "an undefined value";
  }
}

bool is_plain(const YAML::Node& node) { return node.Tag() == "?"; }

nlohmann::json scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (!is_plain(node)) return text;
  if (text == "null" || text == "~" || text.empty()) return nullptr;
  if (text == "true" || text == "True") return true;
  if (text == "false" || text == "False") return false;
  char* end = nullptr;
  errno = 0;
  long long i = std::strtoll(text.c_str(), &end, 10);
  if (errno == 0 && end && *end == '\0') return i;
  errno = 0;
  double d = std::strtod(text.c_str(), &end);
  if (errno == 0 && end && *end == '\0') return d;
  return text;
}

nlohmann::json to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) out[kv.first.Scalar()] = to_json(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(to_json(item));
      return out;
    }
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    default:
      return nullptr;
  }
}

// The checks of load(): one walk that follows aliases and stops at the node
// bound. Recursion is bounded by yaml-cpp's nesting limit.
class DocumentCheck {
 public:
  explicit DocumentCheck(YamlReader& r) : r_(r) {}

  bool run(const YAML::Node& root) {
    walk(root, "");
    return ok_;
  }

 private:
  void text(const YAML::Node& node, const std::string& key, const std::string& value) {
    if (is_valid_utf8(value)) return;
    r_.error(node, key,
             "not valid UTF-8 (save the file as UTF-8; a Latin-1 editor setting does this)");
    ok_ = false;
  }

  void walk(const YAML::Node& node, const std::string& key) {
    if (over_) return;
    if (++nodes_ > kMaxConfigNodes) {
      if (!over_) {
        r_.error(node, key,
                 "the document expands to more than " + std::to_string(kMaxConfigNodes) +
                     " nodes (aliases are counted each time they are used)");
      }
      over_ = true;
      ok_ = false;
      return;
    }
    if (node.IsScalar()) {
      text(node, key, node.Scalar());
    } else if (node.IsSequence()) {
      size_t i = 0;
      for (const auto& item : node) walk(item, index_key(key, i++));
    } else if (node.IsMap()) {
      std::set<std::string> names;
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {  // the readers say what they expected
          walk(kv.first, key);
          walk(kv.second, key);
          continue;
        }
        const std::string& name = kv.first.Scalar();
        const std::string child = join_key(key, name);
        text(kv.first, child, name);
        if (!names.insert(name).second) {
          r_.error(kv.first, child, "duplicate key (YAML keeps only one of them)");
          ok_ = false;
        }
        walk(kv.second, child);
        if (over_) return;
      }
    }
  }

  YamlReader& r_;
  size_t nodes_ = 0;
  bool ok_ = true;
  bool over_ = false;
};

}  // namespace

std::string join_key(const std::string& parent, const std::string& child) {
  return parent.empty() ? child : parent + "." + child;
}

std::string index_key(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

namespace {

// to_json, with ${envvar:} resolved in string scalars (YamlReader::scalar).
nlohmann::json resolved_json(YamlReader& r, const YAML::Node& node, const std::string& key) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) {
        out[kv.first.Scalar()] = resolved_json(r, kv.second, join_key(key, kv.first.Scalar()));
      }
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      size_t i = 0;
      for (const auto& item : node) out.push_back(resolved_json(r, item, index_key(key, i++)));
      return out;
    }
    case YAML::NodeType::Scalar: {
      nlohmann::json plain = scalar_to_json(node);
      if (!plain.is_string()) return plain;
      auto text = r.scalar(node, key, "a string");
      return text ? nlohmann::json(*text) : nlohmann::json();
    }
    default:
      return nullptr;
  }
}

}  // namespace

std::string YamlReader::json(const YAML::Node& node, const std::string& key) {
  if (!node || node.IsNull()) return "{}";
  return resolved_json(*this, node, key)
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string yaml_to_json(const YAML::Node& node) {
  if (!node || node.IsNull()) return "{}";
  // Scalars were checked as UTF-8 by load(); replace, never throw, anyway.
  return to_json(node).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void YamlReader::set_text(std::string text) {
  has_text_ = true;
  text_ = std::move(text);
  line_map_.clear();
  for (size_t at = 0; at < text_.size();) {
    size_t end = text_.find('\n', at);
    if (end == std::string::npos) end = text_.size();
    const size_t mark = text_.rfind("#@ ", end);
    line_map_.push_back(
        mark != std::string::npos && mark >= at ? std::atoi(text_.c_str() + mark + 3) : 0);
    at = end + 1;
  }
}

namespace {

// Up to `limit` bytes of the file at `path` into *text; false with *why
// (the system's reason; a directory is not a file).
bool read_bounded(const std::string& path, size_t limit, std::string* text, std::string* why) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};  // zeros (not a directory) unless fstat filled it
  if (fd < 0 || ::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    *why = fd >= 0 && S_ISDIR(st.st_mode) ? "it is a directory" : std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return false;
  }
  text->assign(limit, '\0');
  size_t got = 0;
  while (got < limit) {
    const ssize_t n = ::read(fd, text->data() + got, limit - got);
    if (n == 0) break;
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (errno != EINTR) {
      *why = std::strerror(errno);
      ::close(fd);
      return false;
    }
  }
  ::close(fd);
  text->resize(got);
  return true;
}

}  // namespace

YAML::Node YamlReader::load() {
  std::string text;
  if (has_text_) {
    text = text_;
  } else {
    std::string why;
    if (!read_bounded(file_, kMaxConfigFileBytes + 1, &text, &why)) {
      diag_.error(Location{file_, 0, 0, ""}, "cannot open file: " + why);
      return YAML::Node();
    }
  }
  if (text.size() > kMaxConfigFileBytes) {
    diag_.error(Location{file_, 0, 0, ""}, "file is larger than " +
                                               std::to_string(kMaxConfigFileBytes) +
                                               " bytes, the bound of a configuration file");
    return YAML::Node();
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    Location where{file_, e.mark.line + 1, e.mark.column + 1, ""};
    if (has_text_) where = Location{file_, source_line(e.mark.line), 0, ""};
    diag_.error(where, "invalid YAML: " + e.msg);
    return YAML::Node();
  }
  return DocumentCheck(*this).run(root) ? root : YAML::Node();
}

Location YamlReader::at(const YAML::Node& node, const std::string& key) const {
  Location where{file_, 0, 0, key};
  if (node.IsDefined()) {
    YAML::Mark mark = node.Mark();
    if (mark.line >= 0 && has_text_) {
      where.line = source_line(mark.line);
    } else if (mark.line >= 0) {
      where.line = mark.line + 1;
      where.column = mark.column + 1;
    }
  }
  return where;
}

void YamlReader::error(const YAML::Node& node, const std::string& key, const std::string& msg) {
  diag_.error(at(node, key), msg);
}

void YamlReader::warn(const YAML::Node& node, const std::string& key, const std::string& msg) {
  diag_.warn(at(node, key), msg);
}

bool YamlReader::expect_map(const YAML::Node& node, const std::string& key) {
  if (node.IsMap()) return true;
  error(node, key, "expected a mapping, got " + kind_name(node));
  return false;
}

bool YamlReader::expect_sequence(const YAML::Node& node, const std::string& key) {
  if (node.IsSequence()) return true;
  error(node, key, "expected a list, got " + kind_name(node));
  return false;
}

void YamlReader::check_keys(const YAML::Node& map, const std::string& key,
                            std::initializer_list<const char*> allowed, const char* unknown_note) {
  if (!map.IsMap()) return;
  for (const auto& kv : map) {
    const std::string& name = kv.first.Scalar();
    bool known = false;
    std::string expected;
    for (const char* a : allowed) {
      known = known || name == a;
      expected += expected.empty() ? a : std::string(", ") + a;
    }
    if (known) continue;
    const std::optional<std::string> nearest = nearest_name(name, allowed);
    if (nearest) {  // a typo of a key this host reads, not another program's setting
      error(kv.first, join_key(key, name),
            "unknown key; did you mean " + *nearest + "? expected one of: " + expected);
    } else if (unknown_note) {
      warn(kv.first, join_key(key, name),
           "unknown key, ignored (" + std::string(unknown_note) + "); known: " + expected);
    } else {
      error(kv.first, join_key(key, name), "unknown key; expected one of: " + expected);
    }
  }
}

std::optional<std::string> YamlReader::scalar(const YAML::Node& node, const std::string& key,
                                              const char* expected) {
  if (!node.IsScalar()) {
    error(node, key, std::string("expected ") + expected + ", got " + kind_name(node));
    return std::nullopt;
  }
  const std::string& text = node.Scalar();
  const size_t prefix = std::char_traits<char>::length(kEnvPrefix);
  if (!resolve_env_ || text.rfind(kEnvPrefix, 0) != 0 || text.back() != '}') return text;
  std::string name = text.substr(prefix, text.size() - prefix - 1);
  const char* value = std::getenv(name.c_str());
  if (!value && !require_env_) return text;
  if (!value) {
    error(node, key, "environment variable " + name + " is not set (referenced as " + text + ")");
    return std::nullopt;
  }
  return std::string(value);
}

std::optional<std::string> YamlReader::string(const YAML::Node& map, const std::string& key,
                                              const char* name, bool required) {
  YAML::Node node = map[name];
  if (!node || node.IsNull()) {
    if (required) error(map, join_key(key, name), "required key is missing (expected a string)");
    return std::nullopt;
  }
  auto text = scalar(node, join_key(key, name), "a string");
  if (text && text->empty() && required) {
    error(node, join_key(key, name), "expected a non-empty string");
    return std::nullopt;
  }
  return text;
}

std::optional<long long> YamlReader::integer(const YAML::Node& map, const std::string& key,
                                             const char* name, long long min, long long max) {
  YAML::Node node = map[name];
  if (!node || node.IsNull()) return std::nullopt;
  const std::string path = join_key(key, name);
  const std::string expected =
      "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  auto text = scalar(node, path, expected.c_str());
  if (!text) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(text->c_str(), &end, 10);
  if (errno != 0 || text->empty() || *end != '\0' || value < min || value > max) {
    error(node, path, "expected " + expected + ", got '" + *text + "'");
    return std::nullopt;
  }
  return value;
}

std::optional<double> YamlReader::number(const YAML::Node& map, const std::string& key,
                                         const char* name, double min, double max) {
  YAML::Node node = map[name];
  if (!node || node.IsNull()) return std::nullopt;
  const std::string path = join_key(key, name);
  char range[96];
  std::snprintf(range, sizeof range, "a number from %g to %g", min, max);
  auto text = scalar(node, path, range);
  if (!text) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text->c_str(), &end);
  if (errno != 0 || text->empty() || *end != '\0' || !(value >= min && value <= max)) {
    error(node, path, std::string("expected ") + range + ", got '" + *text + "'");
    return std::nullopt;
  }
  return value;
}

std::optional<bool> YamlReader::boolean(const YAML::Node& map, const std::string& key,
                                        const char* name) {
  YAML::Node node = map[name];
  if (!node || node.IsNull()) return std::nullopt;
  const std::string path = join_key(key, name);
  auto text = scalar(node, path, "true or false");
  if (!text) return std::nullopt;
  if (*text == "true" || *text == "True" || *text == "TRUE") return true;
  if (*text == "false" || *text == "False" || *text == "FALSE") return false;
  error(node, path, "expected true or false, got '" + *text + "'");
  return std::nullopt;
}

std::optional<std::vector<std::string>> YamlReader::string_list(const YAML::Node& map,
                                                                const std::string& key,
                                                                const char* name) {
  YAML::Node node = map[name];
  if (!node || node.IsNull()) return std::nullopt;
  const std::string path = join_key(key, name);
  std::vector<std::string> out;
  if (node.IsScalar()) {
    if (auto s = scalar(node, path, "a string")) out.push_back(*s);
    return out;
  }
  if (!expect_sequence(node, path)) return std::nullopt;
  bool all = true;
  for (size_t i = 0; i < node.size(); ++i) {
    auto s = scalar(node[i], index_key(path, i), "a string");
    if (s) out.push_back(*s);
    all = all && s.has_value();
  }
  if (!all) return std::nullopt;  // already reported; no knock-on errors
  return out;
}

std::vector<std::pair<std::string, std::string>> YamlReader::string_map(const YAML::Node& map,
                                                                        const std::string& key,
                                                                        const char* name) {
  std::vector<std::pair<std::string, std::string>> out;
  YAML::Node node = map[name];
  if (!node || node.IsNull()) return out;
  const std::string path = join_key(key, name);
  if (!expect_map(node, path)) return out;
  for (const auto& kv : node) {
    const std::string& prop = kv.first.Scalar();
    if (auto value = scalar(kv.second, join_key(path, prop), "a scalar value")) {
      out.emplace_back(prop, *value);
    }
  }
  return out;
}

}  // namespace streams::config
