#include "pipeline/swap_mailbox.h"

namespace streams::pipeline {
namespace {

std::future<SwapOutcome> refused(const std::string& why) {
  std::promise<SwapOutcome> promise;
  SwapOutcome outcome;
  outcome.error = why;
  promise.set_value(std::move(outcome));
  return promise.get_future();
}

void give_up(std::promise<SwapOutcome>& promise, std::shared_ptr<SwapBarrier>& barrier,
             const std::string& why) {
  SwapOutcome outcome;
  outcome.error = why;
  promise.set_value(std::move(outcome));
  if (barrier) barrier->fail(why);
}

}  // namespace

std::future<SwapOutcome> SwapMailbox::post(std::shared_ptr<const Generation> next,
                                           std::shared_ptr<SwapBarrier> barrier) {
  std::lock_guard<std::mutex> lock(mutex_);
  const bool busy = pending_.load() || (building_ && cancelled_.empty());
  const char* why = !open_ ? "the host is stopping"
                    : busy ? "another reload is being applied"
                           : nullptr;
  if (why) {
    if (barrier) barrier->fail(why);
    return refused(why);
  }
  next_ = std::move(next);
  barrier_ = std::move(barrier);
  promise_ = std::promise<SwapOutcome>();
  pending_.store(true, std::memory_order_release);
  return promise_.get_future();
}

bool SwapMailbox::cancel(const std::string& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (pending_.exchange(false)) {  // not begun
    give_up(promise_, barrier_, why);
    barrier_.reset();
    next_.reset();
    return true;
  }
  if (!building_ || switching_ || !cancelled_.empty()) return false;
  // Building successors (a create may be stuck): answered now;
  // may_switch() sees cancelled_ before anything switches.
  give_up(building_promise_, building_barrier_, why);
  cancelled_ = why;
  return true;
}

void SwapMailbox::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  open_ = false;
  if (pending_.exchange(false)) {
    give_up(promise_, barrier_, "the host is stopping");
    barrier_.reset();
    next_.reset();
  }
}

std::shared_ptr<const Generation> SwapMailbox::take() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!pending_.exchange(false)) return nullptr;  // cancelled meanwhile
  building_ = true;
  switching_ = false;
  cancelled_.clear();
  building_promise_ = std::move(promise_);
  building_barrier_ = std::move(barrier_);
  return std::move(next_);
}

bool SwapMailbox::may_switch(std::string* why) {
  std::shared_ptr<SwapBarrier> barrier;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!cancelled_.empty()) {
      *why = cancelled_;
      return false;
    }
    barrier = building_barrier_;
  }
  // Waits unlocked: a cancel meanwhile fails the barrier as well.
  if (barrier && !barrier->arrive(why)) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  switching_ = true;
  return true;
}

void SwapMailbox::answer(SwapOutcome outcome) {
  std::lock_guard<std::mutex> lock(mutex_);
  const bool cancelled = !cancelled_.empty();
  if (building_barrier_ && !outcome.ok) building_barrier_->fail(outcome.error);
  building_barrier_.reset();
  building_ = switching_ = false;
  cancelled_.clear();
  if (!cancelled) building_promise_.set_value(std::move(outcome));
}

}  // namespace streams::pipeline
