// All-or-nothing swaps across processing threads: each thread builds its
// successors, then waits here until every thread has built its own (the
// swap goes ahead everywhere) or one could not (it goes ahead nowhere).
//
// States: open -> passed (every party arrived) | failed (fail() first).
// Thread: any; arrive() blocks the calling processing thread until the
// barrier passes or fails.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>

namespace streams::pipeline {

class SwapBarrier {
 public:
  explicit SwapBarrier(size_t parties) : parties_(parties) {}

  // One party is ready to switch. True once every party is (from then on
  // fail() is refused); false with *why when the swap failed first.
  bool arrive(std::string* why);
  // The swap goes ahead nowhere (a party cannot build, or the poster gave
  // up): waiting parties return false with `why`. False when it passed.
  bool fail(const std::string& why);

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  size_t parties_;
  size_t arrived_ = 0;
  bool passed_ = false;
  std::string failed_;  // non-empty: failed
};

}  // namespace streams::pipeline
