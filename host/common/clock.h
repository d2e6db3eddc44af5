// The host's clocks: wall-clock time for timestamps in records, headers,
// logs and reports; the steady clock for ages, timeouts and waits.
#pragma once

#include <chrono>
#include <cstdint>

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

}  // namespace streams
