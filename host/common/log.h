// Process-wide logger: one line per call to stderr, filtered by level, as
// text ("TIME LEVEL message") or JSON ({"time", "level", "pipeline",
// "message", and the call's fields}). Thread-safe (one write(2) per line).
// A message cannot forge a line: in text, a line break in it continues
// indented and other control characters are escaped; JSON escapes them.
// Control plane and rare data-plane events only; message-path logging goes
// through RateLimitedLog.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace streams::log {

enum class Level : int { debug = 0, info = 1, warn = 2, error = 3 };
enum class Format { text, json };

// Context of a line beyond its message ("step", "partition", ...): in JSON
// lines only (text lines say it in the message). Valid during the call.
using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// Parses "debug|info|warn|warning|error" in any case (and the original's
// "critical" and "fatal" as error); returns false on anything else.
bool parse_level(std::string_view text, Level* out);
void set_level(Level level);
Level level();
// Called with the new level after each set_level (no lock held), on the
// caller's thread: the embedded Python's logging follows it. One at a time;
// null: none.
void set_level_listener(void (*listener)(Level));
const char* name(Level level);  // "debug", "info", "warn", "error"
bool enabled(Level level);
// Set once at start-up, before other threads log.
void set_format(Format format);
Format format();
void set_pipeline(std::string name);  // the "pipeline" of JSON lines
void write(Level level, std::string_view message, Fields fields = {});

// Names the calling thread in every line it writes while this lives ("[T]"
// before a text line's message; "thread": T in a JSON line): a host's
// processing threads tag their lines with their number. An empty tag tags
// nothing.
class ThreadTag {
 public:
  explicit ThreadTag(std::string tag);
  ~ThreadTag();
  ThreadTag(const ThreadTag&) = delete;
  ThreadTag& operator=(const ThreadTag&) = delete;

 private:
  std::string tag_;
};

inline void debug(std::string_view m) { write(Level::debug, m); }
inline void info(std::string_view m) { write(Level::info, m); }
inline void warn(std::string_view m) { write(Level::warn, m); }
inline void error(std::string_view m) { write(Level::error, m); }

// Lets through at most `per_second` lines per second and reports how many it
// suppressed with the next line it lets through. Single-threaded.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(uint32_t per_second) : per_second_(per_second) {}
  // True if the caller should log now; `suppressed` is set to the number of
  // lines dropped since the last line let through.
  bool allow(std::chrono::steady_clock::time_point now, uint64_t* suppressed);

  // " (N similar suppressed)", or "" when N is 0: the tail for the line let through.
  static std::string note(uint64_t suppressed);

 private:
  uint32_t per_second_;
  uint32_t in_window_ = 0;
  uint64_t suppressed_ = 0;
  std::chrono::steady_clock::time_point window_start_{};
};

}  // namespace streams::log
