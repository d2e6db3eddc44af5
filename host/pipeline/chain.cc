// Chain: lifecycle, reloads, and the plugin call path. How each kind runs is
// its operator's (operators/), the host callbacks are in chain_callbacks.cc.
#include "pipeline/chain.h"

#include <chrono>
#include <utility>

#include "pipeline/chain_internal.h"
#include "pipeline/generation_diff.h"

namespace streams::pipeline {
Chain::Chain(std::shared_ptr<const Generation> generation, std::vector<OutputSink*> sinks,
             ErrorHandler& errors, InputHolds* holds, metrics::PipelineMetrics& metrics,
             state::PartitionState* state)
    : generation_(std::move(generation)),
      sinks_(std::move(sinks)),
      errors_(errors),
      holds_(holds),
      state_(state),
      metrics_(metrics),
      calls_(std::make_unique<CallPool>()) {
  bind_metrics();
}

void Chain::bind_metrics() {
  const auto& steps = generation_->steps;
  step_metrics_.clear();
  labels_.clear();
  for (const StepBinding& step : steps) {
    labels_.push_back(crash::intern_label(step.name, step.plugin, step.plugin_version));
    std::vector<std::string> next;
    if (step.next != kNoStep) next.push_back(steps[step.next].name);
    for (const BranchTarget& b : step.branches) next.push_back(steps[b.step].name);
    step_metrics_.push_back(
        &metrics_.step(step.name, step.op->name(), next, step.plugin, step.plugin_version));
  }
}

std::unique_ptr<Chain> Chain::create(std::shared_ptr<const Generation> generation,
                                     std::vector<OutputSink*> sinks, ErrorHandler& errors,
                                     metrics::PipelineMetrics& metrics, std::string* error,
                                     InputHolds* holds, state::PartitionState* state) {
  if (sinks.size() != generation->sinks.size()) {
    *error = "internal: " + std::to_string(sinks.size()) + " sinks given for " +
             std::to_string(generation->sinks.size());
    return nullptr;
  }
  std::unique_ptr<Chain> chain(
      new Chain(std::move(generation), std::move(sinks), errors, holds, metrics, state));
  chain->make_apis();
  if (!chain->create_state(nullptr, error)) return nullptr;
  return chain;
}

std::unique_ptr<Chain> Chain::create_successor(std::shared_ptr<const Generation> generation,
                                               const Chain& previous, std::string* error,
                                               state::PartitionState* state) {
  if (previous.sinks_.size() != generation->sinks.size()) {
    *error = "internal: a successor Chain needs the same sinks";
    return nullptr;
  }
  std::unique_ptr<Chain> chain(new Chain(std::move(generation), previous.sinks_, previous.errors_,
                                         previous.holds_, previous.metrics_,
                                         previous.state_ ? previous.state_ : state));
  chain->make_apis();
  if (!chain->create_state(&previous, error)) return nullptr;
  return chain;
}

ChainResult Chain::take_over(Chain& previous, const HeldInput* idle) {
  const Generation& before = *previous.generation_;
  const bool carry = state_carries_over(before, *generation_);
  if (!carry && previous.finish(idle) == ChainResult::fatal) stopping_ = true;
  for (size_t i = 0; i < kept_.size(); ++i) {
    if (!kept_[i]) continue;
    instances_[i] = std::move(previous.instances_[i]);
    key_instances_[i] = std::move(previous.key_instances_[i]);
    apis_[i] = std::move(previous.apis_[i]);  // the one the instances hold
    apis_[i]->host_ctx = const_cast<StepBinding*>(&generation_->steps[i]);
  }
  if (carry) {
    for (uint32_t i = 0; i < states_.size(); ++i) {
      if (!previous.states_[i]) continue;
      states_[i] = std::move(previous.states_[i]);
      states_[i]->rebind(*this);
    }
  }
  return result_of(Status::ok);
}

bool Chain::create_instances(uint32_t i, std::string* why) {
  const StepBinding& step = generation_->steps[i];
  if (step.function && !(instances_[i] = create_instance(step, *step.function, *apis_[i], why))) {
    return false;
  }
  if (step.key_function) {
    key_instances_[i] = create_instance(step, *step.key_function, *apis_[i], why);
    return static_cast<bool>(key_instances_[i]);
  }
  return true;
}

void Chain::make_apis() {
  const auto& steps = generation_->steps;
  apis_.reserve(steps.size());
  for (const StepBinding& step : steps) {
    auto api = std::make_unique<streams_host_api>(make_host_api(step));
    install_host_callbacks(*api);
    apis_.push_back(std::move(api));
  }
}

bool Chain::create_state(const Chain* previous, std::string* error) {
  const auto& steps = generation_->steps;
  instances_.clear();
  instances_.resize(steps.size());
  key_instances_.clear();
  key_instances_.resize(steps.size());
  kept_.assign(steps.size(), false);
  states_.clear();
  states_.resize(steps.size());
  tables_.assign(steps.size(), nullptr);
  const bool same = previous && same_shape(*previous->generation_, *generation_);
  std::string why;
  for (uint32_t i = 0; i < steps.size(); ++i) {
    const StepBinding& step = steps[i];
    // Kept instances are taken over from `previous` in take_over().
    kept_[i] = same && step.function && same_instances(previous->generation_->steps[i], step);
    if (!kept_[i] && !create_instances(i, &why)) {
      *error =
          "step '" + step.name + "': plugin '" + step.plugin + "' failed to initialise: " + why;
      return false;
    }
    if (const auto& spec = step.spec->state) {
      if (!state_) {
        *error = "step '" + step.name + "' declares state, but this runtime keeps none";
        return false;
      }
      const state::Settings settings{spec->ttl_ms, static_cast<uint64_t>(spec->max_value_bytes)};
      if (!(tables_[i] = state_->table(step.name, settings, &why))) {
        *error = "step '" + step.name + "': " + why;
        return false;
      }
    }
    states_[i] = step.op->make_state(*this, i);  // may use tables_[i]
  }
  return true;
}

// States first (windows call into the instances), then the instances, while
// generation_ still holds their libraries.
Chain::~Chain() {
  states_.clear();
  instances_.clear();
  key_instances_.clear();
}

size_t Chain::held_inputs() const {
  size_t n = 0;
  for (uint32_t i = 0; i < states_.size(); ++i) {
    if (states_[i]) n += generation_->steps[i].op->held_inputs(*states_[i]);
  }
  return n;
}

ChainResult Chain::tick(int64_t now, const HeldInput* idle) {
  return result_of(between_inputs(idle, [&] {
    Status status = Status::ok;
    for (uint32_t i = 0; i < states_.size() && status != Status::fatal; ++i) {
      if (states_[i]) status = generation_->steps[i].op->tick(*this, i, *states_[i], now);
    }
    return status;
  }));
}

ChainResult Chain::finish(const HeldInput* idle) {
  return result_of(between_inputs(idle, [&] {
    Status status = Status::ok;
    for (uint32_t i = 0; i < states_.size() && status != Status::fatal; ++i) {
      if (states_[i]) status = generation_->steps[i].op->finish(*this, i, *states_[i]);
    }
    return status;
  }));
}

ChainResult Chain::process(const streams_record& input, const streams_origin& origin,
                           uint64_t token, const Quarantine* quarantine) {
  crash::InFlight& in_flight = crash::in_flight();
  in_flight.set_origin(&origin);
  if (state_) state_->observe(input.timestamp_ms, origin.offset);
  origin_ = &origin;
  token_ = token;
  input_ = &input;
  quarantine_ = quarantine;
  const Status status = run(0, input);
  origin_ = nullptr;
  input_ = nullptr;
  quarantine_ = nullptr;
  in_flight.set_origin(nullptr);
  return result_of(status);
}

inline __attribute__((always_inline)) Status Chain::call_plugin(uint32_t step,
                                                                const streams_record& record) {
  CallScope scope(*this, step, &record);
  streams_call& call = scope.call();
  const StepBinding& binding = generation_->steps[step];
  const int32_t status = binding.function->process(instances_[step].get(), &record, &call);
  return finish_plugin(step, status, call, record);
}

inline __attribute__((always_inline)) Status Chain::call_output(uint32_t step,
                                                                const streams_record& record) {
  switch (sinks_[generation_->steps[step].sink]->write(record, token_, origin_, &error_message_)) {
    case WriteResult::ok:
      step_metrics_[step]->written.add();
      return Status::ok;
    case WriteResult::rejected:
      return report(step, kErrSinkRejected, error_message_, record);
    case WriteResult::stop:
      break;
  }
  stopping_ = true;
  return Status::fatal;
}

Status Chain::write_output(uint32_t step, const streams_record& record) {
  return call_output(step, record);
}

// Inlined into run(): one function frame a step. Plugin steps and sinks,
// the per-record path of most pipelines, are called without the operator's
// virtual run().
inline __attribute__((always_inline)) Status Chain::run_step(uint32_t step,
                                                             const streams_record& record) {
  if (stopping_) return Status::fatal;
  const StepBinding& binding = generation_->steps[step];
  step_metrics_[step]->records_in.add();
  if (quarantine_ && (quarantine_->step.empty() ? step == 0 : quarantine_->step == binding.name)) {
    const Quarantine* q = std::exchange(quarantine_, nullptr);
    return report(step, q->kind, q->message, record);
  }
  if (binding.runs_plugin_only) return call_plugin(step, record);
  if (binding.sink != StepBinding::kNone) return call_output(step, record);
  return binding.op->run(*this, step, record);
}

Status Chain::run(uint32_t step, const streams_record& record) {
  crash::InFlight& in_flight = crash::in_flight();
  const crash::StepLabel* outer = in_flight.current_step();
  in_flight.set_step(labels_[step]);
  const Status status = run_step(step, record);
  in_flight.set_step(outer);
  return status;
}

Status Chain::run_plugin(uint32_t step, const streams_record& record) {
  return call_plugin(step, record);
}

const streams_record* Chain::empty_record() {
  static const streams_record empty{sizeof(streams_record), 0, {}, {}, nullptr, 0, -1};
  return &empty;
}

Status Chain::finish_plugin(uint32_t step, int32_t status, const streams_call& call,
                            const streams_record& record) {
  if (call.violation && status != STREAMS_FATAL) {
    if (call.violation == kMigrateFailed)
      return report(step, migrate_kind_, migrate_error_, record);
    return report(step, STREAMS_ERR_CONTRACT, call.violation, record);
  }
  const StepBinding& binding = generation_->steps[step];
  if (status == STREAMS_OK && call.emitted == binding.done_after_emitting) return Status::ok;
  if (status == STREAMS_DROP && binding.may_drop) return Status::ok;
  switch (status) {
    case STREAMS_OK:
    case STREAMS_DROP:
      return binding.op->returned(*this, step, status, call, record);
    case STREAMS_RECORD_ERROR:
      if (call.error_kind == 0) {
        return report(step, STREAMS_ERR_PROCESSING, "plugin reported an error without a message",
                      record);
      }
      return report(step, call.error_kind, *call.error_message, record, error_details_.data(),
                    call.details);
    case STREAMS_FATAL:
      stopping_ = true;
      return Status::fatal;
    default:
      return report(step, STREAMS_ERR_CONTRACT,
                    "process returned unknown status " + std::to_string(status), record);
  }
}

Status Chain::report(uint32_t step, int32_t kind, std::string_view message,
                     const streams_record& record, const ErrorDetail* details,
                     size_t detail_count) {
  step_metrics_[step]->errors[metrics::error_kind_index(kind)].add();
  RecordError error{&generation_->steps[step], kind, message, origin_, token_, input_, &record};
  error.details = details;
  error.detail_count = detail_count;
  if (errors_.on_record_error(error)) return Status::ok;
  stopping_ = true;
  return Status::fatal;
}

}  // namespace streams::pipeline
