// The healthcheck file an exec probe looks at (the original's
// write_healthcheck): touched at most once a second while the processing
// loop turns. A file that cannot be touched is logged (rate-limited), never
// fatal.
// Thread: the processing thread.
#pragma once

#include <cstdint>
#include <string>

#include "common/log.h"

namespace streams {

class HealthFile {
 public:
  // `path` empty: touch() does nothing.
  explicit HealthFile(std::string path) : path_(std::move(path)) {}
  // `now_ms`: the steady clock.
  void touch(int64_t now_ms);

 private:
  std::string path_;
  int64_t last_ms_ = 0;
  log::RateLimitedLog log_{1};
};

}  // namespace streams
