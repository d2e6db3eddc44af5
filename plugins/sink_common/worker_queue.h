// Hands a sink's batches from its calls (the processing thread) to a thread
// of the sink's own, and what became of them back, so that the processing
// thread never waits for the store. Used by the PostgreSQL and ClickHouse
// sinks.
//
// Thread: push and poll from the sink's calls; take, finish and stopped
// from the worker; stop and wait_stopped from the owner before it joins
// the worker.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>
#include <vector>

namespace streams_sinks {

template <class Job, class Done>
class WorkerQueue {
 public:
  // Queues a job for the worker.
  void push(Job job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(job));
      ++in_flight_;
    }
    jobs_cv_.notify_one();
  }

  // Moves what finished into *out (appended), waiting up to `timeout_ms` for
  // something when nothing has and jobs are in flight.
  void poll(int timeout_ms, std::vector<Done>* out) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (timeout_ms > 0 && done_.empty() && in_flight_ > 0) {
      done_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                        [this] { return !done_.empty(); });
    }
    take_done(out);
  }

  // Worker: moves the queued jobs into *jobs (appended), first waiting for
  // one when `wait`. False once stopping.
  bool take(std::vector<Job>* jobs, bool wait) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (wait) jobs_cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return false;
    for (Job& j : jobs_) jobs->push_back(std::move(j));
    jobs_.clear();
    return true;
  }

  // Worker: a job's outcome (one per job pushed).
  void finish(Done done) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.push_back(std::move(done));
    }
    done_cv_.notify_all();
  }

  // Makes take() return false from now on.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    jobs_cv_.notify_all();
  }

  // Worker: it returns (after take() returned false).
  void stopped() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopped_ = true;
    }
    done_cv_.notify_all();
  }
  // Owner: waits up to `timeout` for stopped(); true once it came.
  bool wait_stopped(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return done_cv_.wait_for(lock, timeout, [this] { return stopped_; });
  }

 private:
  void take_done(std::vector<Done>* out) {
    in_flight_ -= done_.size();
    for (Done& d : done_) out->push_back(std::move(d));
    done_.clear();
  }

  std::mutex mutex_;
  std::condition_variable jobs_cv_, done_cv_;
  std::vector<Job> jobs_;
  std::vector<Done> done_;
  size_t in_flight_ = 0;  // pushed, and not yet handed out by poll
  bool stopping_ = false;
  bool stopped_ = false;
};

}  // namespace streams_sinks
