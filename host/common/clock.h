// The host's clocks: wall-clock time for timestamps in records, headers,
// logs and reports; the steady clock for ages, timeouts and waits.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace streams {

// Milliseconds since the Unix epoch (system clock). Any thread.
inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Milliseconds of the steady clock (monotonic; its epoch is arbitrary). Any
// thread.
inline int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// `ms` since the Unix epoch as ISO 8601 in UTC with milliseconds:
// "2026-12-05T04:01:55.197Z" (log lines, reports). Any thread.
std::string iso_utc(int64_t ms);

// A time given by a user into *ms (since the Unix epoch): ISO 8601,
// "YYYY-MM-DDTHH:MM[:SS[.fff]]" with "Z" or "+HH:MM"/"-HH:MM" (no zone: UTC;
// a space for the T), or milliseconds since the epoch. False for anything else.
bool parse_time(std::string_view text, int64_t* ms);

// A duration given by a user into *ms: a whole number with a unit, ms, s, m,
// h or d ("90s", "15m", "2h"). False for anything else.
bool parse_duration(std::string_view text, int64_t* ms);

}  // namespace streams
