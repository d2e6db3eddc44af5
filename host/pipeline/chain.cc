#include "pipeline/chain.h"
#include "common/bytes.h"

#include <chrono>
#include <utility>

#include "common/clock.h"
#include "common/utf8.h"
#include "pipeline/generation_diff.h"

// The per-call context behind the ABI's opaque streams_call: a slot of its
// Chain's call pool, active during the plugin call it was made for.
struct streams_call {
  streams::pipeline::Chain* chain = nullptr;
  uint32_t step = 0;
  const streams_record* input = nullptr;
  uint32_t emitted = 0;
  int32_t error_kind = 0;  // 0 = no error set
  std::string* error_message = nullptr;
  uint32_t branch = 0;  // route: the selected branch's index, or kNone
  bool branch_unknown = false;
  std::string* accumulator = nullptr;  // aggregate init/add/merge: set_accumulator's target
  std::string* capture = nullptr;      // group key function: takes the emitted value
  bool accumulator_set = false;
  uint8_t details = 0;              // set_error_detail calls: Chain::error_details_[0..details)
  bool active = false;              // the plugin call is under way
  const char* violation = nullptr;  // how the plugin broke the ABI in this call (a literal)
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

namespace {

using config::StepKind;
constexpr uint32_t kNone = StepBinding::kNone;

// Bounds on what a plugin hands to the host callbacks; past them (or a
// NULL pointer with a size) is a contract error of the record.
constexpr size_t kMaxFieldBytes = size_t{1} << 30;  // a key, value, header name or value
constexpr size_t kMaxHeaders = 1000000;
constexpr size_t kMaxMessageBytes = 64 * 1024;  // set_error, select_branch
constexpr size_t kMaxAccumulatorBytes = size_t{256} << 20;

bool bad(const void* data, size_t size, size_t bound) {
  return (!data && size > 0) || size > bound;
}

// Why `record` cannot be taken, or null.
const char* bad_record(const streams_record* record) {
  // One test for the usual record: pointers set (or sizes 0), under the bounds.
  if (record && (record->key.data || !record->key.size) &&
      (record->value.data || !record->value.size) && record->header_count == 0 &&
      ((record->key.size | record->value.size) >> 30) == 0) {
    return nullptr;
  }
  if (!record) return "emit was given no record";
  if (bad(record->key.data, record->key.size, kMaxFieldBytes)) {
    return "emit: the key is NULL with a size, or larger than 1 GiB";
  }
  if (bad(record->value.data, record->value.size, kMaxFieldBytes)) {
    return "emit: the value is NULL with a size, or larger than 1 GiB";
  }
  if (bad(record->headers, record->header_count, kMaxHeaders)) {
    return "emit: the headers are NULL with a count, or more than 1,000,000";
  }
  for (size_t i = 0; i < record->header_count; ++i) {
    const streams_header& h = record->headers[i];
    if (!h.name.data || bad(h.name.data, h.name.size, kMaxFieldBytes) ||
        bad(h.value.data, h.value.size, kMaxFieldBytes)) {
      return "emit: a header's name is NULL, or a name or value is NULL with a size or larger "
             "than 1 GiB";
    }
  }
  return nullptr;
}

// False (and the violation recorded on the current call) when `call` is not
// one under way: kept from an earlier call, or from another instance.
bool usable(streams_call* call) {
  if (call->active) return true;
  call->chain->on_violation(
      "a host callback was given a call that has ended (a streams_call "
      "kept from an earlier call)");
  return false;
}

int32_t emit_cb(streams_call* call, const streams_record* record) {
  if (!usable(call)) return STREAMS_RECORD_ERROR;
  if (const char* why = bad_record(record)) {
    call->violation = why;
    return STREAMS_RECORD_ERROR;
  }
  return call->chain->on_emit(*call, *record);
}

void set_error_cb(streams_call* call, int32_t kind, const char* message, size_t size) {
  if (!usable(call)) return;
  if (bad(message, size, kMaxMessageBytes)) {
    call->violation = "set_error: the message is NULL with a size, or longer than 64 KiB";
    return;
  }
  call->error_kind = kind > 0 ? kind : STREAMS_ERR_PROCESSING;
  call->error_message->assign(message ? message : "", size);
}

const streams_origin* origin_cb(streams_call* call) {
  static const streams_origin none{sizeof(streams_origin), "", -1, -1};
  if (!usable(call)) return &none;
  const streams_origin* origin = call->chain->current_origin();
  return origin ? origin : &none;
}

int32_t select_branch_cb(streams_call* call, const char* branch, size_t size) {
  if (!usable(call)) return STREAMS_RECORD_ERROR;
  if (bad(branch, size, kMaxMessageBytes)) {
    call->violation = "select_branch: the name is NULL with a size, or longer than 64 KiB";
    return STREAMS_RECORD_ERROR;
  }
  return call->chain->on_select_branch(*call, std::string_view(branch ? branch : "", size));
}

int32_t set_accumulator_cb(streams_call* call, const uint8_t* data, size_t size) {
  if (!usable(call)) return STREAMS_RECORD_ERROR;
  if (bad(data, size, kMaxAccumulatorBytes)) {
    call->violation = "set_accumulator: the data is NULL with a size, or larger than 256 MiB";
    return STREAMS_RECORD_ERROR;
  }
  return call->chain->on_set_accumulator(
      *call, std::string_view(reinterpret_cast<const char*>(data), data ? size : 0));
}

int32_t set_error_detail_cb(streams_call* call, const char* name, size_t name_size,
                            const char* value, size_t value_size) {
  if (!usable(call)) return STREAMS_RECORD_ERROR;
  if (bad(name, name_size, 32) || bad(value, value_size, kMaxMessageBytes)) {
    call->violation =
        "set_error_detail: the name or value is NULL with a size, or the name is longer than 32 "
        "bytes or the value than 64 KiB";
    return STREAMS_RECORD_ERROR;
  }
  return call->chain->on_error_detail(*call, std::string_view(name ? name : "", name_size),
                                      std::string_view(value ? value : "", value_size));
}

// A failure already reported: STREAMS_RECORD_ERROR unless the pipeline stops.
int32_t reported(int32_t status) { return status == STREAMS_FATAL ? status : STREAMS_RECORD_ERROR; }

std::string branch_names(const StepBinding& step) {
  std::string names;
  for (const auto& b : step.branches) names += (names.empty() ? "'" : ", '") + b.name + "'";
  return names;
}

}  // namespace

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
  call.branch = kNone;
  call.branch_unknown = false;
  call.accumulator = nullptr;
  call.capture = nullptr;
  call.accumulator_set = false;
  call.details = 0;
  call.active = true;
  call.violation = nullptr;
  return call;
}

inline __attribute__((always_inline)) void Chain::release_call(streams_call& call) {
  call.active = false;
  --calls_->depth;
}

// A reduce step's windows, served by the Chain's plugin calls.
class Chain::Reducer final : public WindowOps {
 public:
  Reducer(Chain& chain, uint32_t step)
      : chain_(&chain), step_(step), windows_(*chain.generation_->steps[step].spec, *this) {}
  Windows& windows() { return windows_; }
  // A successor Chain takes this over.
  void rebind(Chain& chain) { chain_ = &chain; }

  int32_t init(std::string* acc) override {
    CallScope scope(*chain_, step_, nullptr);
    streams_call& call = scope.call();
    call.accumulator = acc;
    return finish(call, function().init(instance(), &call), acc);
  }
  int32_t add(std::string_view acc, const streams_record& record, std::string* out) override {
    CallScope scope(*chain_, step_, &record);
    streams_call& call = scope.call();
    call.accumulator = out;
    return finish(call, function().add(instance(), bytes_of(acc), &record, &call), out);
  }
  int32_t merge(std::string_view first, std::string_view second, std::string* out) override {
    CallScope scope(*chain_, step_, nullptr);
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
      crash::in_flight().set_step(&chain_->labels_[step_]);  // restored by with_input
      CallScope scope(*chain_, step_, &window);
      streams_call& call = scope.call();
      const int32_t status = function().result(instance(), bytes_of(acc), &window, &call);
      return chain_->finish_plugin(step_, status, call, window);
    });
  }
  void hold(const HeldInput& input) override {
    if (chain_->holds_) chain_->holds_->hold(input.token);
  }
  void release(const HeldInput& input) override {
    if (chain_->holds_) chain_->holds_->release(input.token);
  }

 private:
  const streams_function& function() const { return *chain_->generation_->steps[step_].function; }
  void* instance() const { return chain_->instances_[step_]; }
  // An init/add/merge must set the accumulator once and emit nothing.
  int32_t finish(const streams_call& call, int32_t status, std::string* acc) {
    if (status == STREAMS_OK && call.emitted == 0 && call.accumulator_set && !call.violation) {
      return STREAMS_OK;
    }
    if (status == STREAMS_OK && !call.violation) {
      acc->clear();
      return reported(chain_->report(step_, STREAMS_ERR_CONTRACT,
                                     "an aggregate's init, add and merge set the accumulator "
                                     "once and emit nothing",
                                     call.input ? *call.input : *empty_record()));
    }
    return reported(
        chain_->finish_plugin(step_, status, call, call.input ? *call.input : *empty_record()));
  }

  Chain* chain_;
  uint32_t step_;
  Windows windows_;
};

Chain::Chain(std::shared_ptr<const Generation> generation, std::vector<OutputSink*> sinks,
             ErrorHandler& errors, InputHolds* holds, metrics::PipelineMetrics* metrics)
    : generation_(std::move(generation)),
      sinks_(std::move(sinks)),
      errors_(errors),
      holds_(holds),
      own_metrics_(metrics ? nullptr : std::make_unique<metrics::PipelineMetrics>("")),
      metrics_(metrics ? metrics : own_metrics_.get()),
      calls_(std::make_unique<CallPool>()) {
  bind_metrics();
}

void Chain::bind_metrics() {
  const auto& steps = generation_->steps;
  step_metrics_.clear();
  labels_.clear();
  for (const StepBinding& step : steps) {
    labels_.push_back({step.name.c_str(), step.plugin.c_str(), step.plugin_version.c_str()});
    std::vector<std::string> next;
    if (step.next != kNone) next.push_back(steps[step.next].name);
    for (const BranchTarget& b : step.branches) next.push_back(steps[b.step].name);
    step_metrics_.push_back(&metrics_->step(step.name, config::to_string(step.kind), next,
                                            step.plugin, step.plugin_version));
  }
}

std::unique_ptr<Chain> Chain::create(std::shared_ptr<const Generation> generation,
                                     std::vector<OutputSink*> sinks, ErrorHandler& errors,
                                     std::string* error, InputHolds* holds,
                                     metrics::PipelineMetrics* metrics) {
  if (sinks.size() != generation->sinks.size()) {
    *error = "internal: " + std::to_string(sinks.size()) + " sinks given for " +
             std::to_string(generation->sinks.size());
    return nullptr;
  }
  std::unique_ptr<Chain> chain(
      new Chain(std::move(generation), std::move(sinks), errors, holds, metrics));
  chain->make_apis();
  if (!chain->create_state(nullptr, error)) return nullptr;
  return chain;
}

std::unique_ptr<Chain> Chain::create_successor(std::shared_ptr<const Generation> generation,
                                               const Chain& previous, std::string* error) {
  if (previous.sinks_.size() != generation->sinks.size()) {
    *error = "internal: a successor Chain needs the same sinks";
    return nullptr;
  }
  // A predecessor's own metrics die with it; the successor then has its own.
  std::unique_ptr<Chain> chain(new Chain(std::move(generation), previous.sinks_, previous.errors_,
                                         previous.holds_,
                                         previous.own_metrics_ ? nullptr : previous.metrics_));
  chain->make_apis();
  if (!chain->create_state(&previous, error)) return nullptr;
  return chain;
}

ChainResult Chain::take_over(Chain& previous) {
  const Generation& before = *previous.generation_;
  const bool carry = state_carries_over(before, *generation_);
  if (!carry && previous.finish() == ChainResult::fatal) stopping_ = true;
  for (size_t i = 0; i < kept_.size(); ++i) {
    if (!kept_[i]) continue;
    instances_[i] = std::exchange(previous.instances_[i], nullptr);
    key_instances_[i] = std::exchange(previous.key_instances_[i], nullptr);
    apis_[i] = std::move(previous.apis_[i]);  // the one the instances hold
    apis_[i]->host_ctx = const_cast<StepBinding*>(&generation_->steps[i]);
  }
  if (carry) {
    for (uint32_t i = 0; i < batchers_.size(); ++i) {
      if (previous.batchers_[i]) batchers_[i] = std::move(previous.batchers_[i]);
      if (previous.reducers_[i]) {
        reducers_[i] = std::move(previous.reducers_[i]);
        reducers_[i]->rebind(*this);
      }
    }
  }
  return result_of(STREAMS_OK);
}

bool Chain::create_instances(uint32_t i, std::string* why) {
  const StepBinding& step = generation_->steps[i];
  if (step.function && !(instances_[i] = create_instance(step, *step.function, *apis_[i], why))) {
    return false;
  }
  return !step.key_function ||
         (key_instances_[i] = create_instance(step, *step.key_function, *apis_[i], why));
}

void Chain::make_apis() {
  const auto& steps = generation_->steps;
  apis_.reserve(steps.size());
  for (const StepBinding& step : steps) {
    auto api = std::make_unique<streams_host_api>(make_host_api(step));
    api->emit = &emit_cb;
    api->set_error = &set_error_cb;
    api->origin = &origin_cb;
    api->select_branch = &select_branch_cb;
    api->set_accumulator = &set_accumulator_cb;
    api->set_error_detail = &set_error_detail_cb;
    apis_.push_back(std::move(api));
  }
}

bool Chain::create_state(const Chain* previous, std::string* error) {
  const auto& steps = generation_->steps;
  instances_.assign(steps.size(), nullptr);
  key_instances_.assign(steps.size(), nullptr);
  kept_.assign(steps.size(), false);
  codec_scratch_.resize(steps.size());
  batchers_.resize(steps.size());
  reducers_.resize(steps.size());
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
    if (step.kind == StepKind::batch) {
      batchers_[i] = std::make_unique<Batcher>(step.spec->format, step.spec->max_count,
                                               step.spec->max_wait_ms);
    }
    if (step.kind == StepKind::reduce) reducers_[i] = std::make_unique<Reducer>(*this, i);
    if (step.codec) codec_scratch_[i] = std::make_unique<CodecScratch>();
  }
  return true;
}

Chain::~Chain() {
  reducers_.clear();
  const auto& steps = generation_->steps;
  for (size_t i = 0; i < instances_.size(); ++i) {
    if (instances_[i]) steps[i].function->destroy(instances_[i]);
    if (key_instances_[i]) steps[i].key_function->destroy(key_instances_[i]);
  }
}

size_t Chain::held_inputs() const {
  size_t n = 0;
  for (const auto& b : batchers_) n += b && !b->empty() ? 1 : 0;
  for (const auto& r : reducers_) n += r ? r->windows().holds() : 0;
  return n;
}

ChainResult Chain::tick(int64_t now) {
  int32_t status = STREAMS_OK;
  for (uint32_t i = 0; i < batchers_.size() && status != STREAMS_FATAL; ++i) {
    if (batchers_[i] && batchers_[i]->due(now)) status = flush_batch(i);
    if (reducers_[i] && status != STREAMS_FATAL) status = reducers_[i]->windows().tick(now);
  }
  return result_of(status);
}

ChainResult Chain::finish() {
  int32_t status = STREAMS_OK;
  for (uint32_t i = 0; i < batchers_.size() && status != STREAMS_FATAL; ++i) {
    if (batchers_[i] && !batchers_[i]->empty()) status = flush_batch(i);
    if (reducers_[i] && status != STREAMS_FATAL) status = reducers_[i]->windows().finish();
  }
  return result_of(status);
}

ChainResult Chain::process(const streams_record& input, const streams_origin& origin,
                           uint64_t token, const Quarantine* quarantine) {
  crash::InFlight& in_flight = crash::in_flight();
  in_flight.set_origin(&origin);
  origin_ = &origin;
  token_ = token;
  input_ = &input;
  quarantine_ = quarantine;
  int32_t status = run(0, input);
  origin_ = nullptr;
  input_ = nullptr;
  quarantine_ = nullptr;
  in_flight.set_origin(nullptr);
  return result_of(status);
}

// Inlined into run(): one function frame a step.
inline __attribute__((always_inline)) int32_t Chain::run_step(uint32_t step,
                                                              const streams_record& record) {
  if (stopping_) return STREAMS_FATAL;
  const StepBinding& binding = generation_->steps[step];
  metrics::StepMetrics& counts = *step_metrics_[step];
  counts.records_in.add();
  if (quarantine_ && (quarantine_->step.empty() ? step == 0 : quarantine_->step == binding.name)) {
    const Quarantine* q = std::exchange(quarantine_, nullptr);
    return report(step, q->kind, q->message, record);
  }
  switch (binding.kind) {
    case StepKind::sink:
      switch (sinks_[binding.sink]->write(record, token_, &error_message_)) {
        case WriteResult::ok:
          counts.written.add();
          return STREAMS_OK;
        case WriteResult::rejected:
          return report(step, kErrSinkRejected, error_message_, record);
        case WriteResult::stop:
          break;
      }
      stopping_ = true;
      return STREAMS_FATAL;
    case StepKind::header_filter:
      return run_header_filter(step, record);
    case StepKind::parser:
    case StepKind::serializer:
      return run_codec(step, record);
    case StepKind::batch:
      return run_batch(step, record);
    case StepKind::reduce:
      return run_reduce(step, record);
    case StepKind::broadcast:
      for (const BranchTarget& branch : binding.branches) {
        if (run(branch.step, record) == STREAMS_FATAL) return STREAMS_FATAL;
      }
      return STREAMS_OK;
    default:
      return run_plugin(step, record);
  }
}

int32_t Chain::run(uint32_t step, const streams_record& record) {
  crash::InFlight& in_flight = crash::in_flight();
  const crash::StepLabel* outer = in_flight.current_step();
  in_flight.set_step(&labels_[step]);
  const int32_t status = run_step(step, record);
  in_flight.set_step(outer);
  return status;
}

void Chain::on_violation(const char* what) {
  const CallPool& pool = *calls_;
  if (pool.depth == 0) return;  // no call under way to blame
  const CallPool::Level& level = *pool.levels[pool.depth - 1];
  streams_call& current = const_cast<streams_call&>(level.slots[level.next]);
  if (!current.violation) current.violation = what;
}

int32_t Chain::run_plugin(uint32_t step, const streams_record& record) {
  CallScope scope(*this, step, &record);
  streams_call& call = scope.call();
  const StepBinding& binding = generation_->steps[step];
  int32_t status = binding.function->process(instances_[step], &record, &call);
  return finish_plugin(step, status, call, record);
}

int32_t Chain::run_header_filter(uint32_t step, const streams_record& record) {
  const StepBinding& binding = generation_->steps[step];
  for (size_t i = 0; i < record.header_count; ++i) {
    const streams_header& h = record.headers[i];
    if (text_of(h.name) != binding.header) continue;
    const std::string_view value = text_of(h.value);
    if (!h.value.data || !is_valid_utf8(value)) {
      return report(step, STREAMS_ERR_INVALID_INPUT,
                    "header '" + binding.header + "' is " +
                        (h.value.data ? "not valid UTF-8" : "null") + "; expected text",
                    record);
    }
    return value == binding.header_value ? run(binding.next, record) : STREAMS_OK;
  }
  return STREAMS_OK;  // no such header: dropped
}

int32_t Chain::run_codec(uint32_t step, const streams_record& record) {
  const StepBinding& binding = generation_->steps[step];
  streams_record out = record;
  if (!binding.codec->apply(record.value, *codec_scratch_[step], &out.value, &error_message_)) {
    return report(step, STREAMS_ERR_INVALID_INPUT, error_message_, record);
  }
  return run(binding.next, out);
}

int32_t Chain::run_batch(uint32_t step, const streams_record& record) {
  Batcher& batch = *batchers_[step];
  const bool opens = batch.empty();
  if (!batch.add(record.value, record.timestamp_ms, &error_message_)) {
    return report(step, STREAMS_ERR_INVALID_INPUT, error_message_, record);
  }
  if (opens) {
    batch.open(clock_(), current_input());
    if (holds_) holds_->hold(token_);
  }
  return batch.full() ? flush_batch(step) : STREAMS_OK;
}

int32_t Chain::flush_batch(uint32_t step) {
  Batcher& batch = *batchers_[step];
  const HeldInput first = batch.first();
  metrics::StepMetrics& counts = *step_metrics_[step];
  counts.batch_records.observe(static_cast<double>(batch.count()));
  counts.batch_age_seconds.observe(static_cast<double>(clock_() - batch.opened_ms()) / 1000);
  const int32_t status = run_derived(generation_->steps[step].next, batch.record(), first);
  batch.reset();
  if (holds_) holds_->release(first.token);
  return status;
}

template <class F>
int32_t Chain::with_input(const HeldInput& held, F&& body) {
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
  const int32_t status = body();
  origin_ = origin;
  token_ = token;
  input_ = input;
  in_flight.set_step(outer_step);
  in_flight.set_origin(outer_origin);
  return status;
}

int32_t Chain::run_derived(uint32_t step, const streams_record& record, const HeldInput& held) {
  return with_input(held, [&] { return run(step, record); });
}

int32_t Chain::group_key(uint32_t step, const streams_record& record, std::string* key) {
  const StepBinding& binding = generation_->steps[step];
  CallScope scope(*this, step, &record);
  streams_call& call = scope.call();
  call.capture = key;
  const int32_t status = binding.key_function->process(key_instances_[step], &record, &call);
  if (status == STREAMS_OK && call.emitted == 1 && !call.violation) return STREAMS_OK;
  if (status == STREAMS_OK && !call.violation) {
    return reported(report(step, STREAMS_ERR_CONTRACT,
                           "the group_by function emitted " + std::to_string(call.emitted) +
                               " records; it emits exactly one, whose value is the key",
                           record));
  }
  return reported(finish_plugin(step, status, call, record));
}

int32_t Chain::run_reduce(uint32_t step, const streams_record& record) {
  const StepBinding& binding = generation_->steps[step];
  const std::string* key = nullptr;
  if (binding.key_function) {
    const int32_t status = group_key(step, record, &key_);
    if (status != STREAMS_OK) return status == STREAMS_FATAL ? status : STREAMS_OK;
    key = &key_;
  }
  int64_t event_ms = record.timestamp_ms;
  if (event_ms < 0) {
    event_ms = wall_ms();
  }
  std::string late;  // allocates only for a late record
  const int32_t status =
      reducers_[step]->windows().add(key, record, event_ms, current_input(), clock_(), &late);
  if (status == STREAMS_RECORD_ERROR && !late.empty()) {
    return report(step, STREAMS_ERR_INVALID_INPUT, late, record);
  }
  return status == STREAMS_FATAL ? STREAMS_FATAL : STREAMS_OK;
}

const streams_record* Chain::empty_record() {
  static const streams_record empty{sizeof(streams_record), 0, {}, {}, nullptr, 0, -1};
  return &empty;
}

int32_t Chain::finish_plugin(uint32_t step, int32_t status, const streams_call& call,
                             const streams_record& record) {
  const StepBinding& binding = generation_->steps[step];
  const StepKind kind = binding.kind;
  if (call.violation && status != STREAMS_FATAL) {
    return report(step, STREAMS_ERR_CONTRACT, call.violation, record);
  }
  switch (status) {
    case STREAMS_OK:
      if (kind == StepKind::filter && call.emitted == 0) return run(binding.next, record);
      if (kind == StepKind::map && call.emitted == 1) return STREAMS_OK;
      if (kind == StepKind::flat_map || kind == StepKind::reduce) return STREAMS_OK;
      if (kind == StepKind::route && call.emitted == 0) {
        if (call.branch != kNone) return run(binding.branches[call.branch].step, record);
        if (call.branch_unknown) {
          return report(step, STREAMS_ERR_PROCESSING,
                        "route chose branch '" + *call.error_message + "'; the branches are " +
                            branch_names(binding),
                        record);
        }
        return report(step, STREAMS_ERR_CONTRACT, "route chose no branch", record);
      }
      return report(step, STREAMS_ERR_CONTRACT,
                    std::string(config::to_string(kind)) + " emitted " +
                        std::to_string(call.emitted) +
                        " records; a map emits exactly one, a filter and a route none",
                    record);
    case STREAMS_DROP:
      if (kind == StepKind::filter) return STREAMS_OK;
      return report(step, STREAMS_ERR_CONTRACT, "only a filter may return DROP", record);
    case STREAMS_RECORD_ERROR:
      if (call.error_kind == 0) {
        return report(step, STREAMS_ERR_PROCESSING, "plugin reported an error without a message",
                      record);
      }
      return report(step, call.error_kind, *call.error_message, record, error_details_.data(),
                    call.details);
    case STREAMS_FATAL:
      stopping_ = true;
      return STREAMS_FATAL;
    default:
      return report(step, STREAMS_ERR_CONTRACT,
                    "process returned unknown status " + std::to_string(status), record);
  }
}

int32_t Chain::report(uint32_t step, int32_t kind, std::string_view message,
                      const streams_record& record, const ErrorDetail* details,
                      size_t detail_count) {
  step_metrics_[step]->errors[metrics::error_kind_index(kind)].add();
  RecordError error{&generation_->steps[step], kind, message, origin_, token_, input_, &record};
  error.details = details;
  error.detail_count = detail_count;
  if (errors_.on_record_error(error)) return STREAMS_OK;
  stopping_ = true;
  return STREAMS_FATAL;
}

int32_t Chain::on_emit(streams_call& call, const streams_record& record) {
  if (stopping_) return STREAMS_FATAL;
  ++call.emitted;  // counted even when refused, so finish_plugin can tell
  if (call.capture) {
    if (call.emitted != 1) return STREAMS_RECORD_ERROR;
    call.capture->assign(text_of(record.value));
    return STREAMS_OK;
  }
  const StepBinding& binding = generation_->steps[call.step];
  const bool may_emit = binding.kind == StepKind::flat_map ||
                        (binding.kind == StepKind::map && call.emitted == 1) ||
                        (binding.kind == StepKind::reduce && !call.accumulator);
  if (!may_emit) return STREAMS_RECORD_ERROR;
  streams_record out = record;
  const streams_record& in = *call.input;
  if (record.flags & STREAMS_INHERIT_KEY) out.key = in.key;
  if (record.flags & STREAMS_INHERIT_HEADERS) {
    out.headers = in.headers;
    out.header_count = in.header_count;
  }
  if (record.flags & STREAMS_INHERIT_TIMESTAMP) out.timestamp_ms = in.timestamp_ms;
  out.flags = 0;
  return run(binding.next, out);
}

int32_t Chain::on_set_accumulator(streams_call& call, std::string_view acc) {
  if (!call.accumulator || call.accumulator_set) return STREAMS_RECORD_ERROR;
  call.accumulator->assign(acc);
  call.accumulator_set = true;
  return STREAMS_OK;
}

int32_t Chain::on_error_detail(streams_call& call, std::string_view name, std::string_view value) {
  constexpr uint8_t kMaxDetails = 8;
  // The host's own error headers (dead_letters.h) cannot be set this way.
  static constexpr std::string_view kReserved[] = {
      "step",          "plugin",      "plugin_version",  "kind",           "message",
      "topic",         "partition",   "offset",          "time_ms",        "record",
      "value_omitted", "key_omitted", "headers_omitted", "omitted_because"};
  if (name.empty() || call.details >= kMaxDetails) return STREAMS_RECORD_ERROR;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return STREAMS_RECORD_ERROR;
    }
  }
  for (std::string_view r : kReserved) {
    if (name == r) return STREAMS_RECORD_ERROR;
  }
  if (error_details_.size() <= call.details) error_details_.resize(call.details + 1u);
  ErrorDetail& d = error_details_[call.details++];
  d.name.assign("streams.error.").append(name);
  d.value.assign(value);
  return STREAMS_OK;
}

int32_t Chain::on_select_branch(streams_call& call, std::string_view branch) {
  const StepBinding& binding = generation_->steps[call.step];
  if (binding.kind != StepKind::route || call.branch != kNone || call.branch_unknown) {
    return STREAMS_RECORD_ERROR;
  }
  for (uint32_t i = 0; i < binding.branches.size(); ++i) {
    if (binding.branches[i].name == branch) {
      call.branch = i;
      return STREAMS_OK;
    }
  }
  call.branch_unknown = true;  // reported when process returns
  call.error_message->assign(branch);
  return STREAMS_OK;
}

}  // namespace streams::pipeline
