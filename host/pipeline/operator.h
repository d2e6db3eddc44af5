// A step kind: how the pipeline file names and reads it (config::StepType)
// and how the host runs it (data plane, control-plane built).
//
// One const Operator per kind (operators/table.cc lists them), shared by
// every Chain on every partition thread: an Operator keeps nothing mutable.
// What a step keeps between records on one partition (an open batch, a
// reduce step's windows, codec buffers) is an OperatorState that the
// partition's Chain owns and hands back to the operator.
//
// Thread: bind(), payload_after(), same_settings() and state_carries_over()
// on the control thread (generation build and diff); make_state(), run(),
// tick(), finish() and held_inputs() on the partition's processing thread,
// possibly on several partitions' threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <streams/plugin_abi.h>

#include "config/pipeline_config.h"
#include "config/step_type.h"
#include "pipeline/status.h"

struct streams_call;

namespace streams::plugin {
class PluginRegistry;
}

namespace streams::pipeline {

class Chain;
struct Generation;
struct StepBinding;

// What the records reaching a step are, for a Python function's payload.
enum class Payload { bytes, json, batch };

// One step's per-partition state. A successor Chain (reload) takes it over
// when the operator says it carries over; rebind() then points it at the
// successor.
class OperatorState {
 public:
  virtual ~OperatorState() = default;
  virtual void rebind(Chain& chain) { (void)chain; }
};

// Everything an Operator's bind() may use; valid during the call.
struct BindContext {
  Generation& generation;  // being built: its steps before this one are bound
  uint32_t step;           // the step's index in generation.steps
  plugin::PluginRegistry& registry;
  config::Diagnostics& diag;
};

class Operator : public config::StepType {
 public:
  // The ABI kind of the step's plugin function (STREAMS_KIND_*); 0: the step
  // runs no function.
  virtual int32_t function_kind() const { return 0; }
  bool uses_function() const final { return function_kind() != 0; }
  // Binds what the step needs beyond its plugin function (a codec, a sink
  // slot) into *out; errors go to ctx.diag.
  virtual void bind(const config::StepSpec& spec, BindContext& ctx, StepBinding* out) const {
    (void)spec, (void)ctx, (void)out;
  }
  // What the records after the step are, given those before it.
  virtual Payload payload_after(const config::StepSpec& spec, Payload before) const {
    (void)spec;
    return before;
  }
  // The kind's own settings (not its function, name or edges) are equal.
  virtual bool same_settings(const config::StepSpec& a, const config::StepSpec& b) const {
    (void)a, (void)b;
    return true;
  }
  // The open state of step `before` may serve `after`, which has its place
  // in a graph of the same shape (generation_diff.h).
  virtual bool state_carries_over(const StepBinding& before, const StepBinding& after) const {
    (void)before, (void)after;
    return true;
  }

  // The step's `state:` Table (Chain::table) holds what the kind keeps
  // between records (a reduce step's windows, an open batch), so that it
  // survives crashes: the step's plugin calls may not use it.
  virtual bool keeps_state() const { return false; }
  // The state of step `step` for `chain` (null: the kind keeps none).
  virtual std::unique_ptr<OperatorState> make_state(Chain& chain, uint32_t step) const {
    (void)chain, (void)step;
    return nullptr;
  }
  // Runs `record` through step `step` of `chain` and on: ok (a record error
  // is reported and yields ok unless the pipeline stops) or fatal.
  virtual Status run(Chain& chain, uint32_t step, const streams_record& record) const = 0;
  // Emits what a time limit closes by `now_ms` (the chain's clock).
  virtual Status tick(Chain& chain, uint32_t step, OperatorState& state, int64_t now_ms) const {
    (void)chain, (void)step, (void)state, (void)now_ms;
    return Status::ok;
  }
  // End of input: emits everything open.
  virtual Status finish(Chain& chain, uint32_t step, OperatorState& state) const {
    (void)chain, (void)step, (void)state;
    return Status::ok;
  }
  // Inputs the state holds uncommitted.
  virtual size_t held_inputs(const OperatorState& state) const {
    (void)state;
    return 0;
  }

  // Plugin steps: the call returned `status`, STREAMS_OK or STREAMS_DROP,
  // without a contract violation; continues the record as the kind's
  // contract says or reports the breach.
  virtual Status returned(Chain& chain, uint32_t step, int32_t status, const streams_call& call,
                          const streams_record& record) const;
  // How many records one plugin call may emit (an aggregate's init, add and
  // merge emit none whatever this says).
  virtual uint32_t emit_limit() const { return 0; }
  // A plugin call may return STREAMS_DROP: the record goes no further.
  virtual bool may_drop() const { return false; }
  // run() is chain.run_plugin(step, record): the Chain calls that inline,
  // sparing the per-record virtual call (map, filter, flat_map, route).
  virtual bool runs_plugin_only() const { return false; }
  // A plugin call that returns STREAMS_OK having emitted this many records
  // is done (returned() not called); kNoCount: none such.
  static constexpr uint32_t kNoCount = ~0u;
  virtual uint32_t done_after_emitting() const { return kNoCount; }
  // The plugin call may select a branch (route).
  virtual bool selects_branch() const { return false; }
  // A partition's records may run through the step on several threads at
  // once: it keeps no state that orders them (batch and reduce do).
  virtual bool order_free() const { return true; }
};

// The step kinds this host knows, for the config reader (operators/table.cc).
// Every StepType in a spec read with them is an Operator.
const config::StepTypes& step_types();
// The operator of kind `name`; null when there is none.
const Operator* find_operator(std::string_view name);

}  // namespace streams::pipeline
