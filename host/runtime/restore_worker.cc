#include "runtime/restore_worker.h"

#include <algorithm>

#include "common/clock.h"
#include "common/log.h"

namespace streams::kafka {

RestoreWorker::RestoreWorker(state::ChangelogReader& reader, state::ChangelogWriter& rewriter,
                             std::function<void()> wake)
    : reader_(reader), rewriter_(rewriter), wake_(std::move(wake)), thread_([this] { loop(); }) {}

RestoreWorker::~RestoreWorker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    queue_.clear();
    cancel_.store(true);
  }
  changed_.notify_all();
  thread_.join();
}

void RestoreWorker::start(int32_t partition, state::PartitionState* state) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back({partition, state, ++queued_});
  }
  changed_.notify_all();
}

void RestoreWorker::cancel(int32_t partition) {
  std::unique_lock<std::mutex> lock(mutex_);
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(),
                              [&](const Job& j) { return j.partition == partition; }),
               queue_.end());
  done_.erase(std::remove_if(done_.begin(), done_.end(),
                             [&](const Done& d) { return d.partition == partition; }),
              done_.end());
  if (running_ != partition) return;
  cancel_.store(true);
  changed_.wait(lock, [&] { return running_ != partition; });
}

void RestoreWorker::cancel_all() {
  std::unique_lock<std::mutex> lock(mutex_);
  queue_.clear();
  done_.clear();
  if (running_ < 0) return;
  cancel_.store(true);
  changed_.wait(lock, [&] { return running_ < 0; });
}

void RestoreWorker::take_done(std::vector<Done>* out) {
  std::lock_guard<std::mutex> lock(mutex_);
  out->insert(out->end(), done_.begin(), done_.end());
  done_.clear();
}

size_t RestoreWorker::busy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size() + (running_ >= 0 ? 1 : 0);
}

// Bounds fetched after a partition was queued are still right when its
// restore begins: it is assigned here, so nothing else writes its changelog.
// A partition queued again (revoked, assigned back) is newer than them.
void RestoreWorker::prefetch(const Job& job, std::unique_lock<std::mutex>& lock) {
  if (job.queued <= prefetched_) return;
  const uint64_t covered = queued_;
  std::vector<int32_t> partitions{job.partition};
  for (const Job& j : queue_) {
    if (std::find(partitions.begin(), partitions.end(), j.partition) == partitions.end()) {
      partitions.push_back(j.partition);
    }
  }
  lock.unlock();
  std::string error;
  if (!reader_.prefetch_bounds(partitions, &error)) {
    log::debug("state: " + error + " (each restore asks for its own)");
  }
  lock.lock();
  prefetched_ = covered;
}

void RestoreWorker::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const Job job = queue_.front();
    queue_.pop_front();
    running_ = job.partition;
    cancel_.store(false);
    const int64_t started = steady_ms();
    prefetch(job, lock);
    lock.unlock();
    std::string error;
    const auto result = job.state->restore(reader_, rewriter_, cancel_, &progress_, &error);
    progress_.remaining.store(0, std::memory_order_relaxed);
    lock.lock();
    running_ = -1;
    if (result != state::PartitionState::Restored::cancelled) {
      done_.push_back({job.partition, result == state::PartitionState::Restored::done, error,
                       steady_ms() - started});
    }
    changed_.notify_all();
    if (result != state::PartitionState::Restored::cancelled) {
      lock.unlock();
      wake_();
      lock.lock();
    }
  }
}

}  // namespace streams::kafka
