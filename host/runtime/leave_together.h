// Processing threads leave their consumer group together: each commits what
// it finished, then waits here for the others before it closes its consumer.
// One member leaving rebalances the group, and the commits the others still
// had to make then fail ("rebalance in progress"), so their outputs would be
// produced again by the next owner after a clean stop. The first thread to
// arrive asks every thread to stop (a thread that fails stops the others).
//
// Thread: arrive() from each processing thread (blocking up to a deadline);
// on_first() before they run.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

namespace streams::kafka {

class LeaveTogether {
 public:
  explicit LeaveTogether(size_t threads) : arrived_(threads, false) {}

  void on_first(std::function<void()> f) { first_ = std::move(f); }

  // Thread `thread` is ready to leave (again: no effect). Waits until every
  // thread is, or `timeout_ms` passed (0: does not wait); false then.
  bool arrive(size_t thread, int64_t timeout_ms) {
    std::function<void()> first;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (std::none_of(arrived_.begin(), arrived_.end(), [](bool a) { return a; })) first = first_;
      arrived_[thread] = true;
    }
    changed_.notify_all();
    if (first) first();  // unlocked: it asks the threads to stop
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      return std::all_of(arrived_.begin(), arrived_.end(), [](bool a) { return a; });
    });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<bool> arrived_;
  std::function<void()> first_;
};

}  // namespace streams::kafka
