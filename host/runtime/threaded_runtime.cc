#include "runtime/threaded_runtime.h"

#include <algorithm>
#include <mutex>
#include <thread>

#include "common/log.h"

namespace streams::kafka {
namespace {

using pipeline::SwapOutcome;

// The threads' outcomes as one: ok when every thread switched.
SwapOutcome combine(std::vector<std::future<SwapOutcome>>& outcomes) {
  SwapOutcome all;
  all.ok = true;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    SwapOutcome one;
    try {
      one = outcomes[i].get();
    } catch (const std::exception& e) {  // a broken promise: the thread's runtime went away
      one.error = std::string("the runtime did not answer: ") + e.what();
    }
    if (!one.ok && all.ok) {
      all.ok = false;
      all.error = "processing thread " + std::to_string(i + 1) + ": " + one.error;
    }
    all.switch_points.insert(all.switch_points.end(), one.switch_points.begin(),
                             one.switch_points.end());
    all.took_effect_ms = std::max(all.took_effect_ms, one.took_effect_ms);
    all.switch_us = std::max(all.switch_us, one.switch_us);
  }
  if (!all.ok) all.switch_points.clear();
  std::sort(all.switch_points.begin(), all.switch_points.end());
  return all;
}

class ThreadedRuntime final : public KafkaRuntime {
 public:
  ThreadedRuntime(std::vector<std::unique_ptr<KafkaRuntime>> threads,
                  std::shared_ptr<LeaveTogether> leave)
      : threads_(std::move(threads)), leave_(std::move(leave)) {
    if (leave_) leave_->on_first([this] { request_stop(); });
  }

  int run(const std::atomic<bool>& stop) override {
    std::vector<int> status(threads_.size(), 0);
    auto run_one = [&](size_t i) {
      status[i] = threads_[i]->run(stop);
      // A thread that returned without its shutdown (it could not start)
      // lets the others leave, and stops them, as a failed one does.
      if (leave_) leave_->arrive(i, 0);
      if (status[i] != 0) request_stop();
    };
    std::vector<std::thread> others;
    for (size_t i = 1; i < threads_.size(); ++i) others.emplace_back(run_one, i);
    run_one(0);
    request_stop();  // thread 1 left (a restart, or a failure): the others follow
    for (std::thread& t : others) t.join();
    return *std::max_element(status.begin(), status.end());
  }

  // Its threads are the parties of its own barrier: it joins no other.
  std::future<SwapOutcome> swap_together(std::shared_ptr<const pipeline::Generation> next,
                                         std::shared_ptr<pipeline::SwapBarrier> outer) override {
    std::promise<SwapOutcome> all;
    if (outer) {
      const std::string why = "internal: a runtime of processing threads joins no other's swap";
      outer->fail(why);
      SwapOutcome refused;
      refused.error = why;
      all.set_value(std::move(refused));
      return all.get_future();
    }
    auto barrier = std::make_shared<pipeline::SwapBarrier>(threads_.size());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      barrier_ = barrier;
    }
    std::vector<std::future<SwapOutcome>> outcomes;
    for (auto& t : threads_) outcomes.push_back(t->swap_together(next, barrier));
    std::future<SwapOutcome> answer = all.get_future();
    // The threads answer from their loops; this one waits for them all.
    std::thread([outcomes = std::move(outcomes), all = std::move(all)]() mutable {
      all.set_value(combine(outcomes));
    }).detach();
    return answer;
  }

  // Too late once the barrier passed: every thread is switching.
  bool cancel_swap(const std::string& why) override {
    std::shared_ptr<pipeline::SwapBarrier> barrier;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      barrier = barrier_;
    }
    if (!barrier || !barrier->fail(why)) return false;
    for (auto& t : threads_) t->cancel_swap(why);
    return true;
  }

  void request_stop() override {
    for (auto& t : threads_) t->request_stop();
  }
  void reopen_files() override {
    for (auto& t : threads_) t->reopen_files();
  }
  void set_paused(bool paused) override {
    for (auto& t : threads_) t->set_paused(paused);
  }
  void query_state(pipeline::StateQuery q, pipeline::StateReply reply) override {
    ask(0, std::make_shared<pipeline::StateQuery>(std::move(q)), std::move(reply));
  }

 private:
  // Asks thread `i`, then the next while the partition is elsewhere.
  void ask(size_t i, std::shared_ptr<pipeline::StateQuery> q, pipeline::StateReply reply) {
    const pipeline::StateQuery& query = *q;
    threads_[i]->query_state(query, [this, i, q, reply](pipeline::StateAnswer a) {
      if (!a.elsewhere || i + 1 == threads_.size()) return reply(std::move(a));
      ask(i + 1, q, reply);
    });
  }

  std::vector<std::unique_ptr<KafkaRuntime>> threads_;
  std::shared_ptr<LeaveTogether> leave_;
  std::mutex mutex_;                                // guards barrier_
  std::shared_ptr<pipeline::SwapBarrier> barrier_;  // of the latest swap
};

}  // namespace

std::unique_ptr<KafkaRuntime> threaded_runtime(std::vector<std::unique_ptr<KafkaRuntime>> threads,
                                               std::shared_ptr<LeaveTogether> leave) {
  return std::make_unique<ThreadedRuntime>(std::move(threads), std::move(leave));
}

}  // namespace streams::kafka
