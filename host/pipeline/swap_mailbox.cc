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

}  // namespace

std::future<SwapOutcome> SwapMailbox::post(std::shared_ptr<const Generation> next,
                                           std::shared_ptr<SwapBarrier> barrier) {
  std::lock_guard<std::mutex> lock(mutex_);
  const char* why = !open_                         ? "the host is stopping"
                    : pending_.load() || building_ ? "another reload is being applied"
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
  const bool posted = pending_.exchange(false);
  if (!posted && (!building_ || switching_ || !cancelled_.empty())) return false;
  // Not begun, or building successors (a create may be stuck): answered
  // now; may_switch() sees cancelled_ before anything switches.
  SwapOutcome outcome;
  outcome.error = why;
  promise_.set_value(std::move(outcome));
  next_.reset();
  if (barrier_) barrier_->fail(why);
  if (posted) barrier_.reset();
  if (!posted) cancelled_ = why;
  return true;
}

void SwapMailbox::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  open_ = false;
  if (pending_.exchange(false)) {
    SwapOutcome outcome;
    outcome.error = "the host is stopping";
    if (barrier_) barrier_->fail(outcome.error);
    barrier_.reset();
    promise_.set_value(std::move(outcome));
    next_.reset();
  }
}

std::shared_ptr<const Generation> SwapMailbox::take() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!pending_.exchange(false)) return nullptr;  // cancelled meanwhile
  building_ = true;
  switching_ = false;
  cancelled_.clear();
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
    barrier = barrier_;
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
  if (barrier_ && !outcome.ok) barrier_->fail(outcome.error);
  barrier_.reset();
  building_ = switching_ = false;
  cancelled_.clear();
  if (!cancelled) promise_.set_value(std::move(outcome));
}

}  // namespace streams::pipeline
