// Runs input records through one partition's step graph into its sinks
// (data plane). Push-based: an emitted record goes straight to the next step
// as a view, so no step output is copied by the host until a sink. A route
// sends a record down one branch, a broadcast down every branch in order.
//
// Each step runs through its kind's Operator (operator.h, operators/),
// with the step's per-partition OperatorState that the Chain owns. Batches
// and windows keep state between inputs: they hold the inputs they started
// with (InputHolds) until their output is written, and emit on count, on
// event time, on tick() (time limits) and on finish() (end of input).
//
// Lifetime: one Chain per assigned partition; it owns one instance of each
// plugin step's function and holds the Generation they came from. A reload
// replaces a partition's Chain by a successor (create_successor, then
// take_over between two inputs), which keeps the instances of unchanged
// steps and, when the graph and the stateful steps are unchanged, the open
// batches and windows.
// Thread: all calls on the partition's processing thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <streams/plugin_abi.h>

#include "common/clock.h"
#include "common/crash_guard.h"
#include "metrics/metrics.h"
#include "pipeline/crash_journal.h"
#include "pipeline/generation.h"
#include "pipeline/held_input.h"
#include "pipeline/operator.h"
#include "pipeline/sink.h"
#include "state/partition_state.h"

namespace streams::pipeline {

// Error kinds the host sets beyond the ABI's STREAMS_ERR_*.
constexpr int32_t kErrSinkRejected = 100;  // a sink refused the record for good
constexpr int32_t kErrCrash = 101;         // quarantined: it crashed the host before

// A named detail of a record error (set_error_detail).
struct ErrorDetail {
  std::string name;  // the DLQ header: streams.error.<the plugin's name>
  std::string value;
};

// A step failed on a record. Everything is valid only during the report.
struct RecordError {
  const StepBinding* step;  // the step that failed (a sink step for kErrSinkRejected)
  int32_t kind;             // STREAMS_ERR_* or kErrSink*
  std::string_view message;
  // The chain input's origin and delivery token; for a record derived from
  // several inputs (a batch, a window), those of the first one held.
  const streams_origin* origin;
  uint64_t token;
  const streams_record* input;   // the chain input; null for a derived record
  const streams_record* record;  // what the step failed on
  // `record` is a sink's output its broker refused after the chain ran.
  bool refused_output = false;
  const ErrorDetail* details = nullptr;  // detail_count of them
  size_t detail_count = 0;
};

// What happens to an input a step failed on (skip, DLQ, stop).
class ErrorHandler {
 public:
  virtual ~ErrorHandler() = default;
  // Returns false to stop the pipeline.
  virtual bool on_record_error(const RecordError& error) = 0;
};

enum class ChainResult { ok, fatal };

class Chain {
 public:
  // Creates an instance of every plugin step's function with its config.
  // `sinks[i]` serves generation->sinks[i]; the sinks and `errors` must
  // outlive the Chain. Per-step counts go to `metrics`, which outlives the
  // Chain and its successors. On failure returns nullptr with *error.
  // `holds` (null: none kept, for runtimes that do not commit) must
  // outlive the Chain. `state` (null: none) serves the steps that declare
  // `state:` and outlives the Chain and its successors; a graph with such
  // steps needs one.
  static std::unique_ptr<Chain> create(std::shared_ptr<const Generation> generation,
                                       std::vector<OutputSink*> sinks, ErrorHandler& errors,
                                       metrics::PipelineMetrics& metrics, std::string* error,
                                       InputHolds* holds = nullptr,
                                       state::PartitionState* state = nullptr);
  // A Chain of `generation` to replace `previous` (same sinks, error
  // handler, holds and metrics), which is not touched: instances are created for
  // the steps that cannot keep previous's (see same_instances). `state`:
  // the partition's, when previous had none (a reload added stateful
  // steps). On failure returns nullptr with *error.
  static std::unique_ptr<Chain> create_successor(std::shared_ptr<const Generation> generation,
                                                 const Chain& previous, std::string* error,
                                                 state::PartitionState* state = nullptr);
  // Takes over from `previous`, the Chain given to create_successor: its
  // kept instances, and its open batches and windows when they carry over
  // (state_carries_over); otherwise `previous` emits them first, as at the
  // end of input. `previous` is left to be destroyed.
  ChainResult take_over(Chain& previous, const HeldInput* idle = nullptr);
  ~Chain();
  Chain(const Chain&) = delete;
  Chain& operator=(const Chain&) = delete;

  // Runs `input` through the graph; outputs reach the sinks tagged `token`.
  // Per-record failures go to the ErrorHandler and yield ok. With a
  // `quarantine` (valid during the call), the step it names is not called:
  // the input is a record error of kind crash there instead.
  ChainResult process(const streams_record& input, const streams_origin& origin, uint64_t token,
                      const Quarantine* quarantine = nullptr);
  // Emits batches past max_wait_ms and windows idle for idle_flush_ms, by
  // the chain's clock in milliseconds (steady_ms() unless set_clock).
  // `idle` (valid during the call; null: none) stands in for the input of
  // what is emitted between inputs by steps whose open batch or windows
  // are state (which hold no input): without one they wait.
  ChainResult tick(int64_t now_ms, const HeldInput* idle = nullptr);
  // End of input: emits every open batch and window (`idle`: as for tick).
  ChainResult finish(const HeldInput* idle = nullptr);
  // Inputs held by open batches and windows.
  size_t held_inputs() const;
  // The clock batches and windows read when records arrive: steady_ms(),
  // or a test's. Set before the first process(); same thread.
  using Clock = int64_t (*)();
  void set_clock(Clock clock) { clock_ = clock; }

  // Host callbacks (streams_host_api); public for the C trampolines only.
  int32_t on_emit(streams_call& call, const streams_record& record);
  int32_t on_select_branch(streams_call& call, std::string_view branch);
  int32_t on_set_accumulator(streams_call& call, std::string_view acc);
  int32_t on_share(streams_call& call, const void* tag, void* value);
  void* on_shared(const streams_call& call, const void* tag) const;
  int32_t on_error_detail(streams_call& call, std::string_view name, std::string_view value);
  int32_t on_state_get(streams_call& call, std::string_view key, streams_bytes* value);
  int32_t on_state_put(streams_call& call, std::string_view key, std::string_view value);
  int32_t on_state_erase(streams_call& call, std::string_view key);
  using StateVisit = int32_t (*)(void* ctx, streams_bytes key, streams_bytes value);
  int32_t on_state_scan(streams_call& call, std::string_view prefix, StateVisit visit, void* ctx);
  const streams_origin* current_origin() const { return origin_; }
  // A plugin broke the ABI outside the call it named (a stale call): the
  // call under way is failed with a contract error.
  void on_violation(const char* what);  // `what`: a string literal

  // For operators (operator.h), during their run, tick and finish calls.
  //
  // Runs `record` through `step` (and on), marked in crash::in_flight().
  Status run(uint32_t step, const streams_record& record);
  // Runs `record`, derived from inputs held from `held` on, from `step`.
  Status run_derived(uint32_t step, const streams_record& record, const HeldInput& held);
  // Runs `body` with `held` as the current input (token and origin).
  template <class F>
  Status with_input(const HeldInput& held, F&& body);
  // Runs `body` with `idle` (if any) as the current input.
  template <class F>
  Status between_inputs(const HeldInput* idle, F&& body);
  // Calls the step's plugin function on `record`, then its operator's returned().
  Status run_plugin(uint32_t step, const streams_record& record);
  // The end of any plugin call of `step`, given the ABI status the plugin
  // returned: a violation, an error or a fatal status is handled here; OK
  // and DROP go to the operator's returned().
  Status finish_plugin(uint32_t step, int32_t status, const streams_call& call,
                       const streams_record& record);
  // Reports a record error at `step` to the ErrorHandler: ok when handled,
  // fatal when the pipeline stops.
  Status report(uint32_t step, int32_t kind, std::string_view message, const streams_record& record,
                const ErrorDetail* details = nullptr, size_t detail_count = 0);
  // Writes `record` to the sink of sink step `step` for the current input:
  // a refusal for good is a record error, a sink that cannot go on stops
  // the pipeline.
  Status write_output(uint32_t step, const streams_record& record);
  // A plugin call's context, from the call pool, for as long as it lives.
  // Consecutive calls at one nesting depth take alternating slots, so a
  // streams_call kept from the previous call is seen to have ended.
  class CallScope {
   public:
    __attribute__((always_inline))
    CallScope(Chain& chain, uint32_t step, const streams_record* input)
        : chain_(chain), call_(chain.acquire_call(step, input)) {}
    __attribute__((always_inline)) ~CallScope() { chain_.release_call(call_); }
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;
    streams_call& call() { return call_; }

   private:
    Chain& chain_;
    streams_call& call_;
  };
  const StepBinding& binding(uint32_t step) const { return generation_->steps[step]; }
  void* instance(uint32_t step) const { return instances_[step].get(); }
  void* key_instance(uint32_t step) const { return key_instances_[step].get(); }
  OperatorState* state(uint32_t step) const { return states_[step].get(); }
  metrics::StepMetrics& step_metrics(uint32_t step) const { return *step_metrics_[step]; }
  const crash::StepLabel& label(uint32_t step) const { return *labels_[step]; }
  // The input being run and its delivery token.
  HeldInput current_input() const { return {token_, *origin_}; }
  // An input (or a tick's or finish's idle stand-in) is being run.
  bool has_input() const { return origin_ != nullptr; }
  // The Table of a step that declares `state:` (null: none), and the
  // partition's state it belongs to.
  state::Table* table(uint32_t step) const { return tables_[step]; }
  state::PartitionState* partition_state() const { return state_; }
  // A step's Table may be read and written now: the partition's state is
  // resolved and an input (or an idle stand-in, tick/finish) is under way.
  bool state_ready() const { return has_input() && state_ && state_->resolved(); }
  uint64_t token() const { return token_; }
  // Keeps the input of `token` uncommitted until release() (InputHolds).
  void hold(uint64_t token) {
    if (holds_) holds_->hold(token);
  }
  void release(uint64_t token) {
    if (holds_) holds_->release(token);
  }
  // The chain's clock (set_clock).
  int64_t now_ms() const { return clock_(); }
  // A buffer for an error message, reused across records.
  std::string& error_text() { return error_message_; }
  // A record with no key, value or headers.
  static const streams_record* empty_record();

 private:
  Clock clock_ = steady_ms;
  Chain(std::shared_ptr<const Generation> generation, std::vector<OutputSink*> sinks,
        ErrorHandler& errors, InputHolds* holds, metrics::PipelineMetrics& metrics,
        state::PartitionState* state);
  // The Table of the step `call` runs, or null with the call failed (a
  // contract violation) when it may not use state now.
  state::Table* state_table(streams_call& call);
  // A store failure: logged, and the pipeline stops.
  int32_t state_failed(const std::string& error);
  // ABI 1.5: converts a state value of version `from` to the step's form
  // with its function's migrate into migrated_ (migrated_present_ false:
  // the key goes). STREAMS_OK, else the state call's status, with the
  // input failed (migrate_failed) or the pipeline stopping.
  int32_t migrate(streams_call& call, uint32_t from, std::string_view value);
  int32_t migrate_failed(streams_call& call, int32_t kind, std::string message);
  // Resolves step_metrics_ for this generation's steps.
  void bind_metrics();
  // `previous`: a Chain whose instances of unchanged steps will be taken
  // over (none are created for them here).
  bool create_state(const Chain* previous, std::string* error);
  void make_apis();
  // The function instances of step `i`; false with *why on failure.
  bool create_instances(uint32_t i, std::string* why);
  Status run_step(uint32_t step, const streams_record& record);
  Status call_plugin(uint32_t step, const streams_record& record);  // run_plugin, inlined
  Status call_output(uint32_t step, const streams_record& record);  // write_output, inlined
  streams_call& acquire_call(uint32_t step, const streams_record* input);
  void release_call(streams_call& call);
  ChainResult result_of(Status status) const {
    return status == Status::fatal || stopping_ ? ChainResult::fatal : ChainResult::ok;
  }

  std::shared_ptr<const Generation> generation_;
  std::vector<OutputSink*> sinks_;
  ErrorHandler& errors_;
  // By step; host_ctx = its binding. Heap-allocated: an instance keeps its
  // api pointer, and a successor takes both over.
  std::vector<std::unique_ptr<streams_host_api>> apis_;
  std::vector<bool> kept_;                 // by step; instances to take over from the predecessor
  std::vector<PluginInstance> instances_;  // by step; empty for built-in steps
  std::vector<PluginInstance> key_instances_;           // by step; reduce steps with group_by
  std::vector<std::unique_ptr<OperatorState>> states_;  // by step; null: none
  InputHolds* holds_;
  state::PartitionState* state_;
  std::vector<state::Table*> tables_;  // by step; null: it declares no state
  bool scanning_ = false;              // a state scan's visit is under way
  std::string migrated_;               // migrate(): the converted value, reused
  bool migrated_present_ = false;
  int32_t migrate_kind_ = 0;  // the last migrate failure
  std::string migrate_error_;
  metrics::PipelineMetrics& metrics_;
  std::vector<metrics::StepMetrics*> step_metrics_;  // by step
  std::vector<const crash::StepLabel*> labels_;      // by step; interned
  const streams_origin* origin_ = nullptr;
  uint64_t token_ = 0;
  const streams_record* input_ = nullptr;   // the chain input, null while running a derived record
  const Quarantine* quarantine_ = nullptr;  // during process(), until used
  std::string error_message_;               // set_error target, reused across calls
  std::vector<ErrorDetail> error_details_;  // set_error_detail targets, reused
  struct CallPool;                          // the streams_call slots (chain.cc)
  std::unique_ptr<CallPool> calls_;
  uint64_t calls_made_ = 0;  // plugin calls so far (streams_call::seq)
  // share/shared (ABI 1.8): what call number share_seq_ (share_call_, on
  // share_input_) left for the next call, while that call is under way.
  struct Shared {
    const void* tag;
    void* value;
  };
  static constexpr uint8_t kMaxShared = 4;
  const streams_call* share_call_ = nullptr;
  uint64_t share_seq_ = 0;
  const streams_record* share_input_ = nullptr;
  Shared shared_[kMaxShared] = {};
  uint8_t shared_count_ = 0;
  bool stopping_ = false;
};

}  // namespace streams::pipeline
