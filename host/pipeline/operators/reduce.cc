#include "pipeline/operators/reduce.h"

#include <tuple>

#include "pipeline/chain_internal.h"
#include "pipeline/generation_diff.h"
#include "pipeline/windows.h"

namespace streams::pipeline::operators {
namespace {

// A reduce step's windows on one partition, served by its Chain's plugin
// calls.
class ReduceState final : public OperatorState, public WindowOps {
 public:
  ReduceState(Chain& chain, uint32_t step)
      : chain_(&chain), step_(step), windows_(*chain.binding(step).spec, *this) {}
  Windows& windows() { return windows_; }
  const Windows& windows() const { return windows_; }
  void rebind(Chain& chain) override { chain_ = &chain; }
  std::string& key() { return key_; }

  int32_t init(std::string* acc) override {
    Chain::CallScope scope(*chain_, step_, nullptr);
    streams_call& call = scope.call();
    call.accumulator = acc;
    return finish(call, function().init(instance(), &call), acc);
  }
  int32_t add(std::string_view acc, const streams_record& record, std::string* out) override {
    Chain::CallScope scope(*chain_, step_, &record);
    streams_call& call = scope.call();
    call.accumulator = out;
    return finish(call, function().add(instance(), bytes_of(acc), &record, &call), out);
  }
  int32_t merge(std::string_view first, std::string_view second, std::string* out) override {
    Chain::CallScope scope(*chain_, step_, nullptr);
    streams_call& call = scope.call();
    call.accumulator = out;
    return finish(call, function().merge(instance(), bytes_of(first), bytes_of(second), &call),
                  out);
  }
  int32_t result(std::string_view acc, const std::string* key, int64_t timestamp_ms,
                 const HeldInput& held) override {
    streams_record window{};
    window.struct_size = sizeof(window);
    if (key) window.key = bytes_of(*key);
    window.timestamp_ms = timestamp_ms;
    return chain_->with_input(held, [&] {
      crash::in_flight().set_step(&chain_->label(step_));  // restored by with_input
      Chain::CallScope scope(*chain_, step_, &window);
      streams_call& call = scope.call();
      const int32_t status = function().result(instance(), bytes_of(acc), &window, &call);
      return chain_->finish_plugin(step_, status, call, window);
    });
  }
  void hold(const HeldInput& input) override { chain_->hold(input.token); }
  void release(const HeldInput& input) override { chain_->release(input.token); }

 private:
  const streams_function& function() const { return *chain_->binding(step_).function; }
  void* instance() const { return chain_->instance(step_); }
  // An init/add/merge must set the accumulator once and emit nothing.
  int32_t finish(const streams_call& call, int32_t status, std::string* acc) {
    if (status == STREAMS_OK && call.emitted == 0 && call.accumulator_set && !call.violation) {
      return STREAMS_OK;
    }
    const streams_record& record = call.input ? *call.input : *Chain::empty_record();
    if (status == STREAMS_OK && !call.violation) {
      acc->clear();
      return reported(chain_->report(step_, STREAMS_ERR_CONTRACT,
                                     "an aggregate's init, add and merge set the accumulator "
                                     "once and emit nothing",
                                     record));
    }
    return reported(chain_->finish_plugin(step_, status, call, record));
  }

  Chain* chain_;
  uint32_t step_;
  Windows windows_;
  std::string key_;  // the current record's group key
};

ReduceState& state_of(OperatorState& state) { return static_cast<ReduceState&>(state); }

auto settings(const config::StepSpec& s) {
  return std::tie(s.window.by_time, s.window.size, s.window.slide, s.allowed_lateness_ms,
                  s.idle_flush_ms, s.group_plugin, s.group_function, s.group_python);
}

// The group_by function's key for `record` into *key.
int32_t group_key(Chain& chain, uint32_t step, const streams_record& record, std::string* key) {
  Chain::CallScope scope(chain, step, &record);
  streams_call& call = scope.call();
  call.capture = key;
  const int32_t status =
      chain.binding(step).key_function->process(chain.key_instance(step), &record, &call);
  if (status == STREAMS_OK && call.emitted == 1 && !call.violation) return STREAMS_OK;
  if (status == STREAMS_OK && !call.violation) {
    return reported(chain.report(step, STREAMS_ERR_CONTRACT,
                                 "the group_by function emitted " + std::to_string(call.emitted) +
                                     " records; it emits exactly one, whose value is the key",
                                 record));
  }
  return reported(chain.finish_plugin(step, status, call, record));
}

class Reduce final : public Operator {
 public:
  int32_t function_kind() const override { return STREAMS_KIND_AGGREGATE; }
  bool same_settings(const config::StepSpec& a, const config::StepSpec& b) const override {
    return settings(a) == settings(b);
  }
  // An accumulator's bytes belong to the plugin instance that made them.
  bool state_carries_over(const StepBinding& before, const StepBinding& after) const override {
    return same_settings(*before.spec, *after.spec) && same_instances(before, after);
  }
  bool order_free() const override { return false; }

  std::unique_ptr<OperatorState> make_state(Chain& chain, uint32_t step) const override {
    return std::make_unique<ReduceState>(chain, step);
  }
  int32_t run(Chain& chain, uint32_t step, const streams_record& record) const override {
    ReduceState& state = state_of(*chain.state(step));
    const std::string* key = nullptr;
    if (chain.binding(step).key_function) {
      const int32_t status = group_key(chain, step, record, &state.key());
      if (status != STREAMS_OK) return status == STREAMS_FATAL ? status : STREAMS_OK;
      key = &state.key();
    }
    int64_t event_ms = record.timestamp_ms;
    if (event_ms < 0) event_ms = wall_ms();
    std::string late;  // allocates only for a late record
    const int32_t status =
        state.windows().add(key, record, event_ms, chain.current_input(), chain.now_ms(), &late);
    if (status == STREAMS_RECORD_ERROR && !late.empty()) {
      return chain.report(step, STREAMS_ERR_INVALID_INPUT, late, record);
    }
    return status == STREAMS_FATAL ? STREAMS_FATAL : STREAMS_OK;
  }
  int32_t tick(Chain&, uint32_t, OperatorState& state, int64_t now) const override {
    return state_of(state).windows().tick(now);
  }
  int32_t finish(Chain&, uint32_t, OperatorState& state) const override {
    return state_of(state).windows().finish();
  }
  size_t held_inputs(const OperatorState& state) const override {
    return static_cast<const ReduceState&>(state).windows().holds();
  }
  // The result call emits the window's records; init, add and merge none.
  int32_t returned(Chain&, uint32_t, int32_t status, const streams_call& call,
                   const streams_record& record) const override;
  bool may_emit(uint32_t, bool accumulating) const override { return !accumulating; }
};

int32_t Reduce::returned(Chain& chain, uint32_t step, int32_t status, const streams_call& call,
                         const streams_record& record) const {
  if (status == STREAMS_OK) return STREAMS_OK;
  return Operator::returned(chain, step, status, call, record);
}

}  // namespace

const Operator& reduce() {
  static const Reduce op;
  return op;
}

}  // namespace streams::pipeline::operators
