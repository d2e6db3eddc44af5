// The host callbacks a plugin calls during a Chain's plugin call
// (streams_host_api): checked at the ABI boundary, then served by the Chain.
#include "common/log.h"
#include "pipeline/chain_internal.h"

namespace streams::pipeline {
namespace {

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

int32_t share_cb(streams_call* call, const void* tag, void* value) {
  if (!usable(call)) return STREAMS_RECORD_ERROR;
  return call->chain->on_share(*call, tag, value);
}

void* shared_cb(streams_call* call, const void* tag) {
  if (!usable(call)) return nullptr;
  return call->chain->on_shared(*call, tag);
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

std::string_view view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), data ? size : 0};
}

int32_t state_get_cb(streams_call* call, const uint8_t* key, size_t key_size,
                     streams_bytes* value) {
  if (value) *value = streams_bytes{nullptr, 0};
  if (!usable(call)) return STREAMS_RECORD_ERROR;
  if (!value || bad(key, key_size, state::kMaxKeyBytes)) {
    call->violation =
        "state_get: no value pointer, or the key is NULL with a size or larger than "
        "64 KiB";
    return STREAMS_RECORD_ERROR;
  }
  return call->chain->on_state_get(*call, view(key, key_size), value);
}

int32_t state_put_cb(streams_call* call, const uint8_t* key, size_t key_size, const uint8_t* value,
                     size_t value_size) {
  if (!usable(call)) return STREAMS_RECORD_ERROR;
  if (bad(key, key_size, state::kMaxKeyBytes) || bad(value, value_size, kMaxFieldBytes)) {
    call->violation =
        "state_put: the key or value is NULL with a size, or the key is larger than "
        "64 KiB";
    return STREAMS_RECORD_ERROR;
  }
  return call->chain->on_state_put(*call, view(key, key_size), view(value, value_size));
}

int32_t state_erase_cb(streams_call* call, const uint8_t* key, size_t key_size) {
  if (!usable(call)) return STREAMS_RECORD_ERROR;
  if (bad(key, key_size, state::kMaxKeyBytes)) {
    call->violation = "state_erase: the key is NULL with a size, or larger than 64 KiB";
    return STREAMS_RECORD_ERROR;
  }
  return call->chain->on_state_erase(*call, view(key, key_size));
}

int32_t state_scan_cb(streams_call* call, const uint8_t* prefix, size_t prefix_size,
                      Chain::StateVisit visit, void* ctx) {
  if (!usable(call)) return STREAMS_RECORD_ERROR;
  if (!visit || bad(prefix, prefix_size, state::kMaxKeyBytes)) {
    call->violation =
        "state_scan: no visit function, or the prefix is NULL with a size or larger "
        "than 64 KiB";
    return STREAMS_RECORD_ERROR;
  }
  return call->chain->on_state_scan(*call, view(prefix, prefix_size), visit, ctx);
}

}  // namespace

void install_host_callbacks(streams_host_api& api) {
  api.state_get = &state_get_cb;
  api.state_put = &state_put_cb;
  api.state_erase = &state_erase_cb;
  api.state_scan = &state_scan_cb;
  api.emit = &emit_cb;
  api.set_error = &set_error_cb;
  api.origin = &origin_cb;
  api.select_branch = &select_branch_cb;
  api.set_accumulator = &set_accumulator_cb;
  api.set_error_detail = &set_error_detail_cb;
  api.share = &share_cb;
  api.shared = &shared_cb;
}

void Chain::on_violation(const char* what) {
  const CallPool& pool = *calls_;
  if (pool.depth == 0) return;  // no call under way to blame
  const CallPool::Level& level = *pool.levels[pool.depth - 1];
  streams_call& current = const_cast<streams_call&>(level.slots[level.next]);
  if (!current.violation) current.violation = what;
}

int32_t Chain::on_emit(streams_call& call, const streams_record& record) {
  if (stopping_) return STREAMS_FATAL;
  ++call.emitted;  // counted even when refused, so finish_plugin can tell
  if (call.violation) return STREAMS_RECORD_ERROR;  // the input fails: nothing goes on
  if (call.capture) {
    if (call.emitted != 1) return STREAMS_RECORD_ERROR;
    call.capture->assign(text_of(record.value));
    return STREAMS_OK;
  }
  const StepBinding& binding = generation_->steps[call.step];
  if (call.accumulator || call.emitted > binding.emit_limit) {
    return STREAMS_RECORD_ERROR;
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
  return to_abi(run(binding.next, out));
}

// Process calls with an input only (not an aggregate's or a group key's).
int32_t Chain::on_share(streams_call& call, const void* tag, void* value) {
  if (!tag || !call.input || call.accumulator || call.capture) return STREAMS_RECORD_ERROR;
  if (share_call_ != &call || share_seq_ != call.seq) {
    share_call_ = &call;
    share_seq_ = call.seq;
    share_input_ = call.input;
    shared_count_ = 0;
  }
  for (uint8_t i = 0; i < shared_count_; ++i) {
    if (shared_[i].tag == tag) {
      shared_[i].value = value;
      return STREAMS_OK;
    }
  }
  if (shared_count_ == kMaxShared) return STREAMS_RECORD_ERROR;
  shared_[shared_count_++] = {tag, value};
  return STREAMS_OK;
}

// The call right after the sharing one, on the same record, while the
// sharing call is under way (a filter's kept input runs on inside it).
void* Chain::on_shared(const streams_call& call, const void* tag) const {
  if (!tag || !call.input || share_seq_ + 1 != call.seq || share_input_ != call.input ||
      !share_call_ || !share_call_->active || share_call_->seq != share_seq_) {
    return nullptr;
  }
  for (uint8_t i = 0; i < shared_count_; ++i) {
    if (shared_[i].tag == tag) return shared_[i].value;
  }
  return nullptr;
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
  if (!binding.op->selects_branch() || call.branch != kNoStep || call.branch_unknown) {
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

namespace streams::pipeline {

state::Table* Chain::state_table(streams_call& call) {
  state::Table* table = tables_[call.step];
  if (scanning_) {
    call.violation = "a state call from inside a state scan's visit";
  } else if (!table || call.accumulator || call.capture) {
    call.violation =
        "a state call from a step that declares no state (add `state: {}` to the step in the "
        "pipeline file), or from an aggregate or group_by function";
  } else if (binding(call.step).op->keeps_state()) {
    call.violation =
        "a state call from a reduce step's function: its `state:` keeps the step's open "
        "windows; an aggregate keeps what it needs in its accumulator";
  } else {
    return table;
  }
  return nullptr;
}

int32_t Chain::state_failed(const std::string& error) {
  log::error("state: " + error + "; stopping (the input is not committed)");
  stopping_ = true;
  return STREAMS_FATAL;
}

int32_t Chain::migrate_failed(streams_call& call, int32_t kind, std::string message) {
  migrate_kind_ = kind;
  migrate_error_ = std::move(message);
  call.violation = kMigrateFailed;
  return STREAMS_RECORD_ERROR;
}

int32_t Chain::migrate(streams_call& call, uint32_t from, std::string_view value) {
  const StepBinding& step = binding(call.step);
  const std::string versions = "a state value of version " + std::to_string(from) +
                               " (this function is version " + std::to_string(step.state_version) +
                               ")";
  if (from > step.state_version || !step.migrate) {
    return migrate_failed(
        call, STREAMS_ERR_PROCESSING,
        "state: " + versions +
            (from > step.state_version ? ": a newer version of the function wrote it"
                                       : ": the function has no migrate to convert it"));
  }
  migrated_.clear();
  int32_t status, kind;
  const char* violation;
  bool set;
  {
    CallScope scope(*this, call.step, call.input);
    streams_call& m = scope.call();
    m.accumulator = &migrated_;
    status = step.migrate(instance(call.step), from, bytes_of(value), &m);
    violation = m.violation;
    kind = m.error_kind;
    set = m.accumulator_set && m.emitted == 0;
  }
  if (status == STREAMS_FATAL) {
    stopping_ = true;
    return STREAMS_FATAL;
  }
  if (violation)
    return migrate_failed(call, STREAMS_ERR_CONTRACT, std::string("migrate: ") + violation);
  if (status == STREAMS_DROP) {
    migrated_present_ = false;
    return STREAMS_OK;
  }
  if (status == STREAMS_RECORD_ERROR) {
    return migrate_failed(call, kind ? kind : STREAMS_ERR_PROCESSING,
                          "migrate of " + versions + ": " + error_message_);
  }
  if (status != STREAMS_OK || !set) {
    return migrate_failed(call, STREAMS_ERR_CONTRACT,
                          "migrate of " + versions +
                              " returned without setting the value once (set_accumulator) "
                              "and emitting nothing");
  }
  if (migrated_.size() > tables_[call.step]->settings().max_value_bytes) {
    return migrate_failed(
        call, STREAMS_ERR_CONTRACT,
        "migrate of " + versions + ": the value is larger than the step's state.max_value_bytes");
  }
  migrated_present_ = true;
  return STREAMS_OK;
}

int32_t Chain::on_state_get(streams_call& call, std::string_view key, streams_bytes* value) {
  state::Table* table = state_table(call);
  if (!table) return STREAMS_RECORD_ERROR;
  std::string_view found;
  uint32_t version = 0;
  switch (table->get(key, &found, &error_message_, &version)) {
    case state::Found::yes: {
      const StepBinding& step = binding(call.step);
      if (__builtin_expect(version != step.state_version, 0)) {
        // Converted once, and stored as a change of this input.
        const int32_t status = migrate(call, version, found);
        if (status != STREAMS_OK) return status;
        if (!migrated_present_) {
          table->erase(key, state_->stamp());
          *value = {nullptr, 0};
          return STREAMS_OK;
        }
        table->put(key, migrated_, state_->stamp(), call.input ? call.input->timestamp_ms : -1,
                   step.state_version);
        found = migrated_;
      }
      // A present value is never a null view, even when empty.
      *value = {reinterpret_cast<const uint8_t*>(found.data() ? found.data() : ""), found.size()};
      return STREAMS_OK;
    }
    case state::Found::no:
      return STREAMS_OK;
    case state::Found::error:
      break;
  }
  return state_failed(error_message_);
}

int32_t Chain::on_state_put(streams_call& call, std::string_view key, std::string_view value) {
  state::Table* table = state_table(call);
  if (!table) return STREAMS_RECORD_ERROR;
  if (value.size() > table->settings().max_value_bytes) {
    call.violation = "state_put: the value is larger than the step's state.max_value_bytes";
    return STREAMS_RECORD_ERROR;
  }
  table->put(key, value, state_->stamp(), call.input ? call.input->timestamp_ms : -1,
             binding(call.step).state_version);
  return STREAMS_OK;
}

int32_t Chain::on_state_erase(streams_call& call, std::string_view key) {
  state::Table* table = state_table(call);
  if (!table) return STREAMS_RECORD_ERROR;
  table->erase(key, state_->stamp());
  return STREAMS_OK;
}

int32_t Chain::on_state_scan(streams_call& call, std::string_view prefix, StateVisit visit,
                             void* ctx) {
  state::Table* table = state_table(call);
  if (!table) return STREAMS_RECORD_ERROR;
  // Values of another version are converted for the visit (not stored).
  struct Visitor {
    Chain& chain;
    streams_call& call;
    uint32_t version;
    StateVisit visit;
    void* ctx;
    int32_t failed = STREAMS_OK;
  } visitor{*this, call, binding(call.step).state_version, visit, ctx};
  auto each = [](void* p, std::string_view key, std::string_view value, uint32_t version) {
    Visitor& v = *static_cast<Visitor*>(p);
    if (__builtin_expect(version != v.version, 0)) {
      v.failed = v.chain.migrate(v.call, version, value);
      if (v.failed != STREAMS_OK) return false;
      if (!v.chain.migrated_present_) return true;
      value = v.chain.migrated_;
    }
    const auto bytes = [](std::string_view s) {
      return streams_bytes{reinterpret_cast<const uint8_t*>(s.data() ? s.data() : ""), s.size()};
    };
    return v.visit(v.ctx, bytes(key), bytes(value)) == 0;
  };
  scanning_ = true;
  const bool ok = table->scan_versioned(prefix, each, &visitor, &error_message_);
  scanning_ = false;
  if (!ok) return state_failed(error_message_);
  return visitor.failed;
}

}  // namespace streams::pipeline
