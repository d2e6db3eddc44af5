#include "common/log.h"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/error_report.h"

namespace streams::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
Format g_format = Format::text;
std::string g_pipeline;
thread_local const std::string* g_thread_tag = nullptr;  // ThreadTag's, on its thread

// `text` as a JSON string; bytes that are not UTF-8 become U+FFFD.
void append_json(std::string& out, std::string_view text) {
  out += nlohmann::json(std::string(text))
             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// `text` in a text line that no message can forge: a line break starts an
// indented continuation (so it never reads as a line of its own), and
// other control characters are written as \xNN (\r as \r).
void append_text(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\n    ";
    } else if (c == '\r') {
      out += "\\r";
    } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
}

// "INFO" in text lines, "info" in JSON lines.
const char* level_name(Level level, Format format) {
  static const char* const kText[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  static const char* const kJson[] = {"debug", "info", "warn", "error"};
  const int i = static_cast<int>(level);
  if (i < 0 || i > 3) return "?";
  return (format == Format::json ? kJson : kText)[i];
}

}  // namespace

bool parse_level(std::string_view given, Level* out) {
  std::string text(given);  // the original's runner takes upper case: INFO
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (text == "critical" || text == "fatal") text = "error";
  if (text == "debug")
    *out = Level::debug;
  else if (text == "info")
    *out = Level::info;
  else if (text == "warn" || text == "warning")
    *out = Level::warn;
  else if (text == "error")
    *out = Level::error;
  else
    return false;
  return true;
}

std::atomic<void (*)(Level)> g_level_listener{nullptr};

void set_level(Level level) {
  g_level.store(static_cast<int>(level));
  if (auto* listener = g_level_listener.load()) listener(level);
}
void set_level_listener(void (*listener)(Level)) { g_level_listener.store(listener); }
Level level() { return static_cast<Level>(g_level.load()); }
const char* name(Level level) { return level_name(level, Format::json); }
void set_format(Format format) { g_format = format; }
Format format() { return g_format; }
void set_pipeline(std::string name) { g_pipeline = std::move(name); }

bool enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void write(Level level, std::string_view message, Fields fields) {
  if (!enabled(level)) return;
  const std::string time = iso_utc(wall_ms());
  std::string line;
  if (g_format == Format::json) {
    line = std::string("{\"time\":\"") + time + "\",\"level\":\"" +
           level_name(level, Format::json) + "\"";
    if (!g_pipeline.empty()) {
      line += ",\"pipeline\":";
      append_json(line, g_pipeline);
    }
    line += ",\"message\":";
    append_json(line, message);
    if (g_thread_tag) {
      line += ",\"thread\":";
      append_json(line, *g_thread_tag);
    }
    for (const auto& [key, value] : fields) {
      line += ",";
      append_json(line, key);
      line += ":";
      append_json(line, value);
    }
    line += "}\n";
  } else {
    char prefix[96];
    const int n = std::snprintf(prefix, sizeof prefix, "%s %-5s ", time.c_str(),
                                level_name(level, Format::text));
    line.assign(prefix, static_cast<size_t>(n));
    if (g_thread_tag) line += "[" + *g_thread_tag + "] ";
    append_text(line, message);
    line.push_back('\n');
  }
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
  if (level == Level::error) {
    report::capture_line(message, fields);
  }
}

ThreadTag::ThreadTag(std::string tag) : tag_(std::move(tag)) {
  if (!tag_.empty()) g_thread_tag = &tag_;
}

ThreadTag::~ThreadTag() {
  if (g_thread_tag == &tag_) g_thread_tag = nullptr;
}

bool RateLimitedLog::allow(std::chrono::steady_clock::time_point now, uint64_t* suppressed) {
  if (now - window_start_ >= std::chrono::seconds(1)) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= per_second_) {
    ++suppressed_;
    return false;
  }
  ++in_window_;
  *suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

std::string RateLimitedLog::note(uint64_t suppressed) {
  return suppressed ? " (" + std::to_string(suppressed) + " similar suppressed)" : "";
}

}  // namespace streams::log
