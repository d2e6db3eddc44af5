// The healthcheck file an exec probe looks at (the original's
// write_healthcheck): touched at most once a second while the processing
// loop turns. A file that cannot be touched is never fatal: the first
// failure is logged (and a new reason), then a reminder every ten minutes
// with how many touches failed since, and the recovery once it is touched.
// Thread: the processing thread.
#pragma once

#include <cstdint>
#include <string>

namespace streams {

class HealthFile {
 public:
  static constexpr int64_t kRemindMs = 10 * 60 * 1000;

  // `path` empty: touch() does nothing.
  explicit HealthFile(std::string path) : path_(std::move(path)) {}
  // `now_ms`: the steady clock.
  void touch(int64_t now_ms);

 private:
  void failed(int64_t now_ms, const std::string& why);

  std::string path_;
  int64_t last_ms_ = 0;
  std::string failing_;        // the reason of the failures under way ("": touched)
  int64_t warned_ms_ = 0;      // when the last warning was logged
  uint64_t failed_since_ = 0;  // touches failed since then
};

}  // namespace streams
