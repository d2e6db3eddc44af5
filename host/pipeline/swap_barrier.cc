#include "pipeline/swap_barrier.h"

namespace streams::pipeline {

bool SwapBarrier::arrive(std::string* why) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (failed_.empty() && ++arrived_ == parties_) {
    passed_ = true;
    changed_.notify_all();
  }
  changed_.wait(lock, [&] { return passed_ || !failed_.empty(); });
  if (passed_) return true;
  *why = failed_;
  return false;
}

bool SwapBarrier::fail(const std::string& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (passed_) return false;
  if (failed_.empty()) failed_ = why.empty() ? "the swap failed" : why;
  changed_.notify_all();
  return true;
}

}  // namespace streams::pipeline
