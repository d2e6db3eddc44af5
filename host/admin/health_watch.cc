#include "admin/health_watch.h"

#include <algorithm>

namespace streams::admin {

int64_t HealthWatch::period_ms() const {
  return lasting_ms_ == 0 ? 1000 : std::clamp<int64_t>(lasting_ms_ / 10, 50, 1000);
}

std::optional<HealthWatch::Line> HealthWatch::observe(const HealthAnswer& a, int64_t now_ms) {
  if (a.ok || a.benign) {
    const bool was_reported = reported_;
    const int64_t lasted = now_ms - failing_since_ms_;
    failing_since_ms_ = -1;
    reported_ = false;
    if (!was_reported) return std::nullopt;
    return Line{log::Level::info, (a.ok ? "ready again after " : "no longer failing after ") +
                                      std::to_string(lasted / 1000) +
                                      " s not ready (last: " + last_reason_ + ")" +
                                      (a.ok ? std::string() : "; now: " + a.reason)};
  }
  if (failing_since_ms_ < 0) failing_since_ms_ = now_ms;
  last_reason_ = a.reason;
  const int64_t lasted = now_ms - failing_since_ms_;
  if (reported_ || lasting_ms_ == 0 || lasted < lasting_ms_) return std::nullopt;
  reported_ = true;
  return Line{log::Level::error,
              "not ready for " + std::to_string(lasted / 1000) + " s: " + a.reason};
}

}  // namespace streams::admin
