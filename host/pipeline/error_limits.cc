#include "pipeline/error_limits.h"

#include <cstdio>

namespace streams::pipeline {

LimitedErrors::LimitedErrors(ErrorHandler& inner, const config::ErrorLimits& limits)
    : inner_(inner), limits_(limits) {
  if (limits_.max_failure_ratio > 0) window_.assign(limits_.ratio_window, 0);
}

bool LimitedErrors::end_input(std::string* why) {
  const uint8_t failed = reported_ > 0 ? 1 : 0;
  reported_ = 0;
  consecutive_ = failed ? consecutive_ + 1 : 0;
  if (limits_.max_consecutive_failures > 0 && consecutive_ >= limits_.max_consecutive_failures) {
    *why = std::to_string(consecutive_) +
           " inputs in a row failed (error_limits.max_consecutive_failures is " +
           std::to_string(limits_.max_consecutive_failures) + ")";
    return false;
  }
  if (window_.empty()) return true;
  failed_in_window_ = failed_in_window_ - window_[next_] + failed;
  window_[next_] = failed;
  next_ = next_ + 1 == window_.size() ? 0 : next_ + 1;
  ++seen_;
  const double ratio = static_cast<double>(failed_in_window_) / window_.size();
  if (seen_ < window_.size() || ratio <= limits_.max_failure_ratio) return true;
  char text[160];
  std::snprintf(text, sizeof text,
                "%u of the last %zu inputs failed (%.3g; error_limits.max_failure_ratio is %g)",
                failed_in_window_, window_.size(), ratio, limits_.max_failure_ratio);
  *why = text;
  return false;
}

}  // namespace streams::pipeline
