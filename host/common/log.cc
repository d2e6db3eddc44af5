#include "common/log.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace streams::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};

const char* level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "DEBUG";
    case Level::info:
      return "INFO";
    case Level::warn:
      return "WARN";
    case Level::error:
      return "ERROR";
  }
  return "?";
}

}  // namespace

bool parse_level(std::string_view text, Level* out) {
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

void set_level(Level level) { g_level.store(static_cast<int>(level)); }

bool enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void write(Level level, std::string_view message) {
  if (!enabled(level)) return;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char prefix[64];
  int n = std::snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                        utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                        utc.tm_sec, ts.tv_nsec / 1000000, level_name(level));
  std::string line(prefix, static_cast<size_t>(n));
  line.append(message);
  line.push_back('\n');
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
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
