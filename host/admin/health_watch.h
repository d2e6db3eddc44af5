// Turns a readiness failure that lasts into an ERROR line (control plane):
// a host can be not ready for minutes (a sink's brokers unreachable, no
// commit going through, a plugin blocking) with no one probing /readyz or
// reading warnings. Once it has not been ready for `lasting_ms` in a row,
// one ERROR says so and why (and so reaches Sentry when configured); when it
// is ready again, an INFO line says after how long. Waits that are not
// failures (joining the group; a state restore making progress) do not
// count.
//
// The admin thread also publishes what it sees as gauges: ready (1/0) and
// how long the failure under way has lasted.
//
// Thread: one caller at a time (the admin thread, which owns Health).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "admin/health.h"
#include "common/log.h"

namespace streams::admin {

class HealthWatch {
 public:
  // `lasting_ms`: 0 logs nothing (the watch still measures).
  explicit HealthWatch(int64_t lasting_ms) : lasting_ms_(lasting_ms) {}

  struct Line {
    log::Level level;
    std::string text;
  };
  // Readiness `a` seen at `now_ms` (steady clock): the line to log, if any.
  std::optional<Line> observe(const HealthAnswer& a, int64_t now_ms);
  // How long the failure under way has lasted at `now_ms` (0: none).
  int64_t not_ready_ms(int64_t now_ms) const {
    return failing_since_ms_ < 0 ? 0 : now_ms - failing_since_ms_;
  }
  // How often to observe: every second, or often enough that the line
  // comes within a tenth of `lasting_ms`.
  int64_t period_ms() const;

 private:
  int64_t lasting_ms_;
  int64_t failing_since_ms_ = -1;  // -1: ready, or not failing
  std::string last_reason_;        // of the failure under way
  bool reported_ = false;          // this failure's ERROR was logged
};

}  // namespace streams::admin
