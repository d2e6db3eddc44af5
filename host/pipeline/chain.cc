#include "pipeline/chain.h"

#include "pipeline/utf8.h"

// The per-call context behind the ABI's opaque streams_call.
struct streams_call {
  streams::pipeline::Chain* chain;
  uint32_t step;
  const streams_record* input;
  uint32_t emitted;
  int32_t error_kind;  // 0 = no error set
  std::string* error_message;
  uint32_t branch;  // route: the selected branch's index, or kNone
  bool branch_unknown;
};

namespace streams::pipeline {
namespace {

using config::StepKind;
constexpr uint32_t kNone = StepBinding::kNone;

int32_t emit_cb(streams_call* call, const streams_record* record) {
  return call->chain->on_emit(*call, *record);
}

void set_error_cb(streams_call* call, int32_t kind, const char* message, size_t size) {
  call->error_kind = kind > 0 ? kind : STREAMS_ERR_PROCESSING;
  call->error_message->assign(message, size);
}

const streams_origin* origin_cb(streams_call* call) { return call->chain->current_origin(); }

int32_t select_branch_cb(streams_call* call, const char* branch, size_t size) {
  return call->chain->on_select_branch(*call, std::string_view(branch, size));
}

std::string_view view(streams_bytes b) {
  return {reinterpret_cast<const char*>(b.data), b.data ? b.size : 0};
}

std::string branch_names(const StepBinding& step) {
  std::string names;
  for (const auto& b : step.branches) names += (names.empty() ? "'" : ", '") + b.name + "'";
  return names;
}

}  // namespace

Chain::Chain(std::shared_ptr<const Generation> generation, std::vector<OutputSink*> sinks,
             ErrorHandler& errors)
    : generation_(std::move(generation)), sinks_(std::move(sinks)), errors_(errors) {}

std::unique_ptr<Chain> Chain::create(std::shared_ptr<const Generation> generation,
                                     std::vector<OutputSink*> sinks, ErrorHandler& errors,
                                     std::string* error) {
  if (sinks.size() != generation->sinks.size()) {
    *error = "internal: " + std::to_string(sinks.size()) + " sinks given for " +
             std::to_string(generation->sinks.size());
    return nullptr;
  }
  std::unique_ptr<Chain> chain(new Chain(std::move(generation), std::move(sinks), errors));
  const auto& steps = chain->generation_->steps;
  chain->apis_.reserve(steps.size());
  for (const StepBinding& step : steps) {
    streams_host_api api = make_host_api(step);
    api.emit = &emit_cb;
    api.set_error = &set_error_cb;
    api.origin = &origin_cb;
    api.select_branch = &select_branch_cb;
    chain->apis_.push_back(api);
  }
  chain->instances_.assign(steps.size(), nullptr);
  for (size_t i = 0; i < steps.size(); ++i) {
    const StepBinding& step = steps[i];
    if (!step.function) continue;
    char reason[512] = {0};
    void* instance = step.function->create(&chain->apis_[i], step.config_json.c_str(),
                                           step.config_json.size(), reason, sizeof reason);
    if (!instance) {
      *error = "step '" + step.name + "': plugin '" + step.plugin +
               "' failed to initialise: " + (reason[0] ? reason : "create returned no instance");
      return nullptr;
    }
    chain->instances_[i] = instance;
  }
  return chain;
}

Chain::~Chain() {
  const auto& steps = generation_->steps;
  for (size_t i = 0; i < instances_.size(); ++i) {
    if (instances_[i]) steps[i].function->destroy(instances_[i]);
  }
}

ChainResult Chain::process(const streams_record& input, const streams_origin& origin,
                           uint64_t token) {
  origin_ = &origin;
  token_ = token;
  int32_t status = run(0, input);
  origin_ = nullptr;
  return status == STREAMS_FATAL || stopping_ ? ChainResult::fatal : ChainResult::ok;
}

int32_t Chain::run(uint32_t step, const streams_record& record) {
  if (stopping_) return STREAMS_FATAL;
  const StepBinding& binding = generation_->steps[step];
  switch (binding.kind) {
    case StepKind::sink:
      if (sinks_[binding.sink]->write(record, token_)) return STREAMS_OK;
      stopping_ = true;
      return STREAMS_FATAL;
    case StepKind::header_filter:
      return run_header_filter(step, record);
    case StepKind::broadcast:
      for (const BranchTarget& branch : binding.branches) {
        if (run(branch.step, record) == STREAMS_FATAL) return STREAMS_FATAL;
      }
      return STREAMS_OK;
    default:
      return run_plugin(step, record);
  }
}

int32_t Chain::run_plugin(uint32_t step, const streams_record& record) {
  streams_call call{this, step, &record, 0, 0, &error_message_, kNone, false};
  const StepBinding& binding = generation_->steps[step];
  int32_t status = binding.function->process(instances_[step], &record, &call);
  return finish_plugin(step, status, call, record);
}

int32_t Chain::run_header_filter(uint32_t step, const streams_record& record) {
  const StepBinding& binding = generation_->steps[step];
  for (size_t i = 0; i < record.header_count; ++i) {
    const streams_header& h = record.headers[i];
    if (view(h.name) != binding.header) continue;
    const std::string_view value = view(h.value);
    if (!h.value.data || !is_valid_utf8(value)) {
      return report(step, STREAMS_ERR_INVALID_INPUT,
                    "header '" + binding.header + "' is " +
                        (h.value.data ? "not valid UTF-8" : "null") + "; expected text");
    }
    return value == binding.header_value ? run(binding.next, record) : STREAMS_OK;
  }
  return STREAMS_OK;  // no such header: dropped
}

int32_t Chain::finish_plugin(uint32_t step, int32_t status, const streams_call& call,
                             const streams_record& record) {
  const StepBinding& binding = generation_->steps[step];
  const StepKind kind = binding.kind;
  switch (status) {
    case STREAMS_OK:
      if (kind == StepKind::filter && call.emitted == 0) return run(binding.next, record);
      if (kind == StepKind::map && call.emitted == 1) return STREAMS_OK;
      if (kind == StepKind::flat_map) return STREAMS_OK;
      if (kind == StepKind::route && call.emitted == 0) {
        if (call.branch != kNone) return run(binding.branches[call.branch].step, record);
        if (call.branch_unknown) {
          return report(step, STREAMS_ERR_PROCESSING,
                        "route chose branch '" + *call.error_message + "'; the branches are " +
                            branch_names(binding));
        }
        return report(step, STREAMS_ERR_CONTRACT, "route chose no branch");
      }
      return report(step, STREAMS_ERR_CONTRACT,
                    std::string(config::to_string(kind)) + " emitted " +
                        std::to_string(call.emitted) +
                        " records; a map emits exactly one, a filter and a route none");
    case STREAMS_DROP:
      if (kind == StepKind::filter) return STREAMS_OK;
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

int32_t Chain::report(uint32_t step, int32_t kind, std::string_view message) {
  RecordError error{&generation_->steps[step], kind, message, origin_};
  if (errors_.on_record_error(error)) return STREAMS_OK;
  stopping_ = true;
  return STREAMS_FATAL;
}

int32_t Chain::on_emit(streams_call& call, const streams_record& record) {
  if (stopping_) return STREAMS_FATAL;
  ++call.emitted;  // counted even when refused, so finish_plugin can tell
  const StepBinding& binding = generation_->steps[call.step];
  const bool may_emit =
      binding.kind == StepKind::flat_map || (binding.kind == StepKind::map && call.emitted == 1);
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
