// The processing threads' last loop turns (steady ms), a slot a thread. The
// liveness signals a thread sends on its own (the healthcheck file, the
// systemd watchdog) report the oldest turn, so one stalled thread stops them
// as it fails GET /livez: a healthy thread does not hide a stuck one.
//
// Thread: turned(i, ...) from thread i only; any thread reads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

namespace streams {

class LoopClocks {
 public:
  explicit LoopClocks(size_t threads) : turns_(threads) {}
  // Thread `i`'s loop turned at `now_ms`: returns the oldest turn of all (0
  // until every thread turned once).
  int64_t turned(size_t i, int64_t now_ms) {
    turns_[i].store(now_ms, std::memory_order_relaxed);
    int64_t oldest = now_ms;
    for (const auto& t : turns_) oldest = std::min(oldest, t.load(std::memory_order_relaxed));
    return oldest;
  }

 private:
  std::vector<std::atomic<int64_t>> turns_;
};

}  // namespace streams
