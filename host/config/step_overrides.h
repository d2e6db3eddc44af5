// The step settings a segment's steps_config entry may change, as the
// original's deployment files set them (its Batch's batch_size and
// batch_timedelta, its DevNullSink's batch and sleep times, its GCSSink's
// bucket). Which kinds take which is theirs to say (StepType::deploy,
// SinkType::deploy). Immutable once read; plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace streams::config {

struct StepOverrides {
  std::optional<int64_t> batch_size;
  // batch_timedelta ({seconds: 20}, a Python timedelta's keywords) or
  // batch_time_ms, in ms; `wait_key` says which the entry used.
  std::optional<int64_t> batch_wait_ms;
  const char* wait_key = "batch_timedelta";
  // A DevNullSink's simulated write: its mean and longest, in ms.
  std::optional<double> average_sleep_ms;
  std::optional<double> max_sleep_ms;
  // A GCSSink's bucket: a plugin sink whose config has a `bucket`.
  std::optional<std::string> bucket;

  bool empty() const {
    return !batch_size && !batch_wait_ms && !average_sleep_ms && !max_sleep_ms && !bucket;
  }
  // The keys of those set, for a warning: "batch_size, max_sleep_time_ms".
  std::string keys() const {
    std::string out;
    auto add = [&out](bool set, const char* key) {
      if (!set) return;
      if (!out.empty()) out += ", ";
      out += key;
    };
    add(batch_size.has_value(), "batch_size");
    add(batch_wait_ms.has_value(), wait_key);
    add(average_sleep_ms.has_value(), "average_sleep_time_ms");
    add(max_sleep_ms.has_value(), "max_sleep_time_ms");
    add(bucket.has_value(), "bucket");
    return out;
  }
};

}  // namespace streams::config
