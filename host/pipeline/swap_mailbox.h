// The hand-over of a swap() from any thread to the processing thread, which
// serves it between two inputs (data plane side of GenerationSwapper::swap).
//
// States: idle -> posted (post) -> building (take: successors are being
// created; cancel still answers) -> switching (may_switch returned true:
// too late to cancel) -> idle (answer). close() refuses posts for good.
// A building swap that was cancelled has been answered but still occupies
// the processing thread until answer(); a post meanwhile is accepted and
// waits, posted, behind it (a retried reload is not refused because the
// one given up is still winding down; if that one is stuck, so is this,
// and its own timeout cancels it).
// A swap posted with a SwapBarrier (one a processing thread, of a runtime
// with several) switches only once every thread's successors are built:
// may_switch() waits there, and a refusal, a cancel or a failed build
// fails it for every thread.
// Thread: post(), cancel() and close() from any thread; pending(), take(),
// may_switch() and answer() on the processing thread.
#pragma once

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "pipeline/generation_swap.h"
#include "pipeline/swap_barrier.h"

namespace streams::pipeline {

class SwapMailbox {
 public:
  // The future answers at once when another swap is posted, or building
  // and not cancelled, or the mailbox is closed.
  std::future<SwapOutcome> post(std::shared_ptr<const Generation> next,
                                std::shared_ptr<SwapBarrier> barrier = nullptr);
  // Gives up the posted swap, else the building one, answering `why`; false
  // when there is none, it is switching, or it was given up already.
  bool cancel(const std::string& why);
  // Refuses the posted swap (if any) and every later one.
  void close();

  bool pending() const { return pending_.load(std::memory_order_acquire); }
  // The posted generation (null when it was cancelled meanwhile); the swap
  // is building until answer().
  std::shared_ptr<const Generation> take();
  // Successors are built: true to switch (from now on cancel() refuses),
  // false with *why when a cancel came first (or the barrier failed; it
  // waits there for the other threads).
  bool may_switch(std::string* why);
  // Ends the building swap; the outcome goes to the poster unless it was
  // cancelled.
  void answer(SwapOutcome outcome);

 private:
  std::mutex mutex_;  // guards all but pending_'s reads in pending()
  // The posted swap: post() .. take().
  std::shared_ptr<const Generation> next_;
  std::promise<SwapOutcome> promise_;
  std::shared_ptr<SwapBarrier> barrier_;  // null: none
  std::atomic<bool> pending_{false};
  // The building swap: take() .. answer().
  std::promise<SwapOutcome> building_promise_;
  std::shared_ptr<SwapBarrier> building_barrier_;
  bool building_ = false;
  bool switching_ = false;  // may_switch() .. answer()
  std::string cancelled_;   // non-empty: the building swap was given up
  bool open_ = true;
};

}  // namespace streams::pipeline
