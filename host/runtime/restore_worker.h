// Restores assigned partitions' state from the changelog on a thread of its
// own: never on the poll thread and never inside a rebalance callback, where
// a long restore would outlast max.poll.interval.ms and loop the group. One
// partition at a time, in the order asked; the others keep processing.
//
// Ownership: from start(p) until its result is taken (take_done) or
// cancel(p) returns, the worker owns p's PartitionState; the processing
// thread must not touch it (the partition processes nothing meanwhile).
//
// Thread: every call on the processing thread; `wake` is called on the
// worker's thread when a result is ready.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "state/changelog.h"
#include "state/partition_state.h"

namespace streams::kafka {

class RestoreWorker {
 public:
  // `reader` and `rewriter` are used on the worker's thread only and
  // outlive it.
  RestoreWorker(state::ChangelogReader& reader, state::ChangelogWriter& rewriter,
                std::function<void()> wake);
  ~RestoreWorker();  // cancels what runs, drops what is queued

  void start(int32_t partition, state::PartitionState* state);
  // Cancels `partition`'s restore (queued, or running: it stops after its
  // current batch, keeping its progress) and waits until the worker no
  // longer touches its state.
  void cancel(int32_t partition);
  void cancel_all();

  struct Done {
    int32_t partition;
    bool ok;
    std::string error;
    int64_t ms;  // how long it took
  };
  // Restores finished since the last call.
  void take_done(std::vector<Done>* out);
  // Restores queued or running.
  size_t busy() const;
  // Totals over every restore so far: changelog records and bytes read;
  // and the records the running ones have left to read, at most.
  state::PartitionState::RestoreProgress& progress() { return progress_; }

 private:
  struct Job {
    int32_t partition;
    state::PartitionState* state;
    uint64_t queued;  // start()'s count when it was queued
  };
  void loop();
  // Has the reader fetch the bounds of `job`'s partition and every queued
  // one in one go, unless it fetched them after `job` was queued. Called
  // with `lock` held; releases it while it asks.
  void prefetch(const Job& job, std::unique_lock<std::mutex>& lock);

  state::ChangelogReader& reader_;
  state::ChangelogWriter& rewriter_;
  std::function<void()> wake_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job> queue_;
  int32_t running_ = -1;  // the partition restoring now
  std::vector<Done> done_;
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};  // the running restore's
  uint64_t queued_ = 0;              // start() calls so far
  uint64_t prefetched_ = 0;          // queued_ when the reader last fetched bounds
  state::PartitionState::RestoreProgress progress_;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace streams::kafka
