#include "sinks/devnull/simulated_writes.h"

#include <algorithm>
#include <cmath>

namespace streams::sinks {

SimulatedWrites::SimulatedWrites(const DevNullWrites& writes, uint64_t seed)
    : writes_(writes), rng_(seed) {}

void SimulatedWrites::take(uint64_t token, uint64_t bytes, int64_t now_ms) {
  if (open_ == 0) opened_ms_ = now_ms;
  tokens_.push_back({token, bytes});
  bytes_ += bytes;
  ++open_;
  if (writes_.batch_size > 0 && open_ >= static_cast<size_t>(writes_.batch_size)) close(now_ms);
}

void SimulatedWrites::close(int64_t now_ms) {
  if (open_ == 0) return;
  const int64_t start = std::max(now_ms, last_done_ms_);
  last_sleep_ms_ = draw();
  last_done_ms_ = start + static_cast<int64_t>(std::llround(last_sleep_ms_));
  closed_.push_back({open_, opened_ms_, last_done_ms_});
  open_ = 0;
}

int64_t SimulatedWrites::next_event_ms() const {
  int64_t next = closed_.empty() ? kNever : closed_.front().done_ms;
  if (open_ > 0) next = std::min(next, opened_ms_ + writes_.batch_time());
  return next;
}

double SimulatedWrites::draw() {
  std::uniform_real_distribution<double> factor(0.5, 1.5);
  const double most =
      writes_.max_sleep_ms < 0 ? 2 * writes_.average_sleep_ms : writes_.max_sleep_ms;
  return std::min(writes_.average_sleep_ms * factor(rng_), most);
}

}  // namespace streams::sinks
