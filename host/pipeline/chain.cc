#include "pipeline/chain.h"

// The per-call context behind the ABI's opaque streams_call.
struct streams_call {
  streams::pipeline::Chain* chain;
  size_t step;
  const streams_record* input;
  uint32_t emitted;
  int32_t error_kind;  // 0 = no error set
  std::string* error_message;
};

namespace streams::pipeline {
namespace {

int32_t emit_cb(streams_call* call, const streams_record* record) {
  return call->chain->on_emit(*call, *record);
}

void set_error_cb(streams_call* call, int32_t kind, const char* message, size_t size) {
  call->error_kind = kind > 0 ? kind : STREAMS_ERR_PROCESSING;
  call->error_message->assign(message, size);
}

const streams_origin* origin_cb(streams_call* call) { return call->chain->current_origin(); }

}  // namespace

Chain::Chain(std::shared_ptr<const Generation> generation, OutputSink& sink, ErrorHandler& errors)
    : generation_(std::move(generation)), sink_(sink), errors_(errors) {}

std::unique_ptr<Chain> Chain::create(std::shared_ptr<const Generation> generation, OutputSink& sink,
                                     ErrorHandler& errors, std::string* error) {
  std::unique_ptr<Chain> chain(new Chain(std::move(generation), sink, errors));
  const auto& steps = chain->generation_->steps;
  chain->apis_.reserve(steps.size());
  for (const StepBinding& step : steps) {
    streams_host_api api = make_host_api(step);
    api.emit = &emit_cb;
    api.set_error = &set_error_cb;
    api.origin = &origin_cb;
    chain->apis_.push_back(api);
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    char reason[512] = {0};
    const StepBinding& step = steps[i];
    void* instance = step.function->create(&chain->apis_[i], step.config_json.c_str(),
                                           step.config_json.size(), reason, sizeof reason);
    if (!instance) {
      *error = "step '" + step.name + "': plugin '" + step.plugin +
               "' failed to initialise: " + (reason[0] ? reason : "create returned no instance");
      return nullptr;
    }
    chain->instances_.push_back(instance);
  }
  return chain;
}

Chain::~Chain() {
  const auto& steps = generation_->steps;
  for (size_t i = 0; i < instances_.size(); ++i) steps[i].function->destroy(instances_[i]);
}

ChainResult Chain::process(const streams_record& input, const streams_origin& origin,
                           uint64_t token) {
  origin_ = &origin;
  token_ = token;
  int32_t status = run_from(0, input);
  origin_ = nullptr;
  return status == STREAMS_FATAL || stopping_ ? ChainResult::fatal : ChainResult::ok;
}

int32_t Chain::run_from(size_t step, const streams_record& record) {
  if (stopping_) return STREAMS_FATAL;
  if (step == instances_.size()) {
    if (sink_.write(record, token_)) return STREAMS_OK;
    stopping_ = true;
    return STREAMS_FATAL;
  }
  streams_call call{this, step, &record, 0, 0, &error_message_};
  const StepBinding& binding = generation_->steps[step];
  int32_t status = binding.function->process(instances_[step], &record, &call);
  return finish_step(step, status, call, record);
}

int32_t Chain::finish_step(size_t step, int32_t status, const streams_call& call,
                           const streams_record& record) {
  const bool filter = generation_->steps[step].kind == config::StepKind::filter;
  switch (status) {
    case STREAMS_OK:
      if (filter && call.emitted == 0) return run_from(step + 1, record);
      if (!filter && call.emitted == 1) return STREAMS_OK;
      return report(step, STREAMS_ERR_CONTRACT,
                    std::string(filter ? "filter" : "map") + " emitted " +
                        std::to_string(call.emitted) +
                        " records; a map emits exactly one, a filter none");
    case STREAMS_DROP:
      if (filter) return STREAMS_OK;
      return report(step, STREAMS_ERR_CONTRACT, "only a filter may return DROP");
    case STREAMS_RECORD_ERROR:
      if (call.error_kind == 0) {
        return report(step, STREAMS_ERR_PROCESSING, "plugin reported an error without a message");
      }
      return report(step, call.error_kind, *call.error_message);
    case STREAMS_FATAL:
      stopping_ = true;
      return STREAMS_FATAL;
    default:
      return report(step, STREAMS_ERR_CONTRACT,
                    "process returned unknown status " + std::to_string(status));
  }
}

int32_t Chain::report(size_t step, int32_t kind, std::string_view message) {
  RecordError error{&generation_->steps[step], kind, message, origin_};
  if (errors_.on_record_error(error)) return STREAMS_OK;
  stopping_ = true;
  return STREAMS_FATAL;
}

int32_t Chain::on_emit(streams_call& call, const streams_record& record) {
  if (stopping_) return STREAMS_FATAL;
  ++call.emitted;  // counted even when refused, so finish_step can tell
  if (generation_->steps[call.step].kind == config::StepKind::filter || call.emitted > 1) {
    return STREAMS_RECORD_ERROR;  // filters do not emit; a map emits once
  }
  streams_record out = record;
  const streams_record& in = *call.input;
  if (record.flags & STREAMS_INHERIT_KEY) out.key = in.key;
  if (record.flags & STREAMS_INHERIT_HEADERS) {
    out.headers = in.headers;
    out.header_count = in.header_count;
  }
  if (record.flags & STREAMS_INHERIT_TIMESTAMP) out.timestamp_ms = in.timestamp_ms;
  out.flags = 0;
  return run_from(call.step + 1, out);
}

}  // namespace streams::pipeline
