// Chain internals shared by its source files (chain.cc: lifecycle and the
// plugin call path; chain_callbacks.cc: the host callbacks) and the
// operators (operators/). Not for use outside pipeline/.
#pragma once

#include <string>
#include <utility>

#include "common/bytes.h"
#include "pipeline/chain.h"

// The per-call context behind the ABI's opaque streams_call: a slot of its
// Chain's call pool, active during the plugin call it was made for.
struct streams_call {
  streams::pipeline::Chain* chain = nullptr;
  uint32_t step = 0;
  const streams_record* input = nullptr;
  uint32_t emitted = 0;
  int32_t error_kind = 0;  // 0 = no error set
  std::string* error_message = nullptr;
  uint32_t branch = 0;  // route: the selected branch's index, or kNoStep
  bool branch_unknown = false;
  std::string* accumulator = nullptr;  // aggregate init/add/merge: set_accumulator's target
  std::string* capture = nullptr;      // group key function: takes the emitted value
  bool accumulator_set = false;
  uint8_t details = 0;              // set_error_detail calls: Chain::error_details_[0..details)
  bool active = false;              // the plugin call is under way
  const char* violation = nullptr;  // how the plugin broke the ABI in this call (a literal)
  uint64_t seq = 0;                 // the chain's plugin calls, numbered: this one's
};

namespace streams::pipeline {

// Two slots per nesting depth (std::deque: slots stay put as it grows),
// which of them is next, and the depth now.
struct Chain::CallPool {
  struct Level {
    streams_call slots[2];
    uint8_t next = 0;  // the slot the next call at this depth takes
  };
  std::vector<std::unique_ptr<Level>> levels;  // heap blocks: slots stay put as it grows
  size_t depth = 0;
};

constexpr uint32_t kNoStep = StepBinding::kNone;

// streams_call::violation when a state value's migrate failed: the input
// fails with Chain::migrate_error_ (not a contract error of its own).
inline constexpr char kMigrateFailed[] = "a state value's migrate failed";

// The host callbacks (chain_callbacks.cc) into `api`.
void install_host_callbacks(streams_host_api& api);

// Inlined: it is on every plugin call.
inline __attribute__((always_inline)) streams_call& Chain::acquire_call(
    uint32_t step, const streams_record* input) {
  CallPool& pool = *calls_;
  if (__builtin_expect(pool.depth == pool.levels.size(), 0)) {  // deeper than ever: once
    auto level = std::make_unique<CallPool::Level>();
    for (streams_call& slot : level->slots) {
      slot.chain = this;
      slot.error_message = &error_message_;
    }
    pool.levels.push_back(std::move(level));
  }
  CallPool::Level& level = *pool.levels[pool.depth];
  level.next ^= 1;
  streams_call& call = level.slots[level.next];
  ++pool.depth;
  call.step = step;
  call.input = input;
  call.emitted = 0;
  call.error_kind = 0;
  call.branch = kNoStep;
  call.branch_unknown = false;
  call.accumulator = nullptr;
  call.capture = nullptr;
  call.accumulator_set = false;
  call.details = 0;
  call.active = true;
  call.violation = nullptr;
  call.seq = ++calls_made_;
  return call;
}

inline __attribute__((always_inline)) void Chain::release_call(streams_call& call) {
  call.active = false;
  --calls_->depth;
}

template <class F>
Status Chain::with_input(const HeldInput& held, F&& body) {
  const streams_origin* origin = origin_;
  const uint64_t token = token_;
  const streams_record* input = input_;
  crash::InFlight& in_flight = crash::in_flight();
  const crash::StepLabel* outer_step = in_flight.current_step();
  const streams_origin* outer_origin = in_flight.current_origin();
  origin_ = &held.origin;
  token_ = held.token;
  input_ = nullptr;
  in_flight.set_origin(&held.origin);
  const Status status = body();
  origin_ = origin;
  token_ = token;
  input_ = input;
  in_flight.set_step(outer_step);
  in_flight.set_origin(outer_origin);
  return status;
}

template <class F>
Status Chain::between_inputs(const HeldInput* idle, F&& body) {
  return idle ? with_input(*idle, body) : body();
}

inline Status Chain::run_derived(uint32_t step, const streams_record& record,
                                 const HeldInput& held) {
  return with_input(held, [&] { return run(step, record); });
}

}  // namespace streams::pipeline
