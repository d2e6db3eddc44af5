#include "pipeline/operators/reduce.h"

#include <tuple>

#include "common/log.h"
#include "config/step_readers.h"
#include "pipeline/chain_internal.h"
#include "pipeline/generation_diff.h"
#include "pipeline/windows.h"

namespace streams::pipeline::operators {
namespace {

using config::YamlReader;

// window: {type: tumbling|sliding, size: N[, slide: N]} in records, or
// {type: ..., size_ms: N[, slide_ms: N]} in event time.
void read_window(YamlReader& r, const YAML::Node& node, const std::string& key,
                 const std::string& step_name, WindowSpec* out) {
  const std::string wkey = config::join_key(key, "window");
  YAML::Node window = node["window"];
  if (!window) {
    r.error(node, wkey,
            "required key is missing (expected {type: tumbling|sliding, size: RECORDS} or "
            "{type: ..., size_ms: MS})");
    return;
  }
  if (!r.expect_map(window, wkey)) return;
  r.check_keys(window, wkey, {"type", "size", "slide", "size_ms", "slide_ms"});
  auto type = r.string(window, wkey, "type", true);
  if (type && *type != "tumbling" && *type != "sliding") {
    r.error(window["type"], config::join_key(wkey, "type"),
            "expected tumbling or sliding, got '" + *type + "'");
    return;
  }
  WindowSpec& w = *out;
  w.by_time = window["size_ms"] || window["slide_ms"];
  if (w.by_time && (window["size"] || window["slide"])) {
    r.error(window, wkey, "give size and slide (records) or size_ms and slide_ms, not both");
    return;
  }
  const char* size_key = w.by_time ? "size_ms" : "size";
  const char* slide_key = w.by_time ? "slide_ms" : "slide";
  const long long max = w.by_time ? config::kMaxMs : config::kMaxCount;
  auto size = r.integer(window, wkey, size_key, 1, max);
  if (!size) {
    if (!window[size_key])
      r.error(window, config::join_key(wkey, size_key), "required key is missing");
    return;
  }
  w.size = w.slide = *size;
  auto slide = r.integer(window, wkey, slide_key, 1, max);
  if (type && *type == "tumbling") {
    if (slide && *slide != *size) {
      r.error(window[slide_key], config::join_key(wkey, slide_key),
              "a tumbling window slides by its size; use type: sliding");
    }
    return;
  }
  if (!slide) {
    if (!window[slide_key]) {
      r.error(window, config::join_key(wkey, slide_key),
              "required key is missing for a sliding window");
    }
    return;
  }
  if (*slide > *size) {
    r.error(window[slide_key], config::join_key(wkey, slide_key),
            "step '" + step_name + "': the window slides by " + std::to_string(*slide) +
                ", more than its size " + std::to_string(*size) +
                "; records between windows would be lost");
  } else if (*size % *slide != 0) {
    r.error(window[slide_key], config::join_key(wkey, slide_key),
            "step '" + step_name + "': the slide " + std::to_string(*slide) +
                " must divide the window size " + std::to_string(*size));
  }
  w.slide = *slide;
}

void read_group_by(YamlReader& r, const YAML::Node& node, const std::string& key,
                   config::StepSpec* step) {
  YAML::Node group = node["group_by"];
  if (!group) return;
  const std::string gkey = config::join_key(key, "group_by");
  if (!r.expect_map(group, gkey)) return;
  r.check_keys(group, gkey, {"plugin", "function", "python"});
  step->group_location = r.at(group, gkey);
  if (group["python"]) {
    if (group["plugin"] || group["function"]) {
      r.error(group, gkey, "give python, or plugin and function, not both");
    }
    config::read_python_name(r, group, gkey, &step->group_python);
    return;
  }
  if (auto plugin = r.string(group, gkey, "plugin", true)) step->group_plugin = *plugin;
  if (auto fn = r.string(group, gkey, "function", true)) step->group_function = *fn;
}

const ReduceSettings& settings_of(const config::StepSpec& spec) {
  return static_cast<const ReduceSettings&>(*spec.settings);
}

// A reduce step's windows on one partition, served by its Chain's plugin
// calls; kept in the step's state Table when it declares `state:`.
class ReduceState final : public OperatorState, public WindowOps, public PaneStore {
 public:
  ReduceState(Chain& chain, uint32_t step)
      : chain_(&chain),
        step_(step),
        table_(chain.table(step)),
        windows_(settings_of(*chain.binding(step).spec),
                 chain.binding(step).key_function != nullptr, *this, table_ ? this : nullptr) {}
  Windows& windows() { return windows_; }
  const Windows& windows() const { return windows_; }
  void rebind(Chain& chain) override { chain_ = &chain; }
  std::string& key() { return key_; }

  Status init(std::string* acc) override {
    Chain::CallScope scope(*chain_, step_, nullptr);
    streams_call& call = scope.call();
    call.accumulator = acc;
    return finish(call, function().init(instance(), &call), acc);
  }
  Status add(std::string_view acc, const streams_record& record, std::string* out) override {
    Chain::CallScope scope(*chain_, step_, &record);
    streams_call& call = scope.call();
    call.accumulator = out;
    const Status status =
        finish(call, function().add(instance(), bytes_of(acc), &record, &call), out);
    if (status != Status::ok || !table_ || out->size() <= table_->settings().max_value_bytes) {
      return status;
    }
    return reported(chain_->report(step_, STREAMS_ERR_PROCESSING,
                                   "the window's accumulator would grow to " +
                                       std::to_string(out->size()) +
                                       " bytes, over the step's state.max_value_bytes",
                                   record));
  }
  Status merge(std::string_view first, std::string_view second, std::string* out) override {
    Chain::CallScope scope(*chain_, step_, nullptr);
    streams_call& call = scope.call();
    call.accumulator = out;
    return finish(call, function().merge(instance(), bytes_of(first), bytes_of(second), &call),
                  out);
  }
  Status result(std::string_view acc, const std::string* key, int64_t timestamp_ms,
                const HeldInput& held) override {
    streams_record window{};
    window.struct_size = sizeof(window);
    if (key) window.key = bytes_of(*key);
    window.timestamp_ms = timestamp_ms;
    // State-backed panes hold no input: the output is the current input's.
    const HeldInput input = table_ ? HeldInput{chain_->token(), held.origin} : held;
    return chain_->with_input(input, [&] {
      crash::in_flight().set_step(&chain_->label(step_));  // restored by with_input
      Chain::CallScope scope(*chain_, step_, &window);
      streams_call& call = scope.call();
      const int32_t status = function().result(instance(), bytes_of(acc), &window, &call);
      return chain_->finish_plugin(step_, status, call, window);
    });
  }
  void hold(const HeldInput& input) override { chain_->hold(input.token); }
  void release(const HeldInput& input) override { chain_->release(input.token); }

  // PaneStore, over the step's Table: changes are stamped with the input
  // under way (or the idle stand-in's offset, PartitionState::stamp_between).
  void put(std::string_view key, std::string_view value) override {
    const state::PartitionState& ps = *chain_->partition_state();
    table_->put(key, value, ps.stamp(), ps.clock());
  }
  void erase(std::string_view key) override {
    table_->erase(key, chain_->partition_state()->stamp());
  }
  bool get(std::string_view key, std::string* value, bool* found) override {
    std::string_view view;
    switch (table_->get(key, &view, &chain_->error_text())) {
      case state::Found::yes:
        value->assign(view);
        *found = true;
        return true;
      case state::Found::no:
        *found = false;
        return true;
      case state::Found::error:
        break;
    }
    return failed();
  }
  bool scan(std::string_view prefix, Visit visit, void* ctx) override {
    return table_->scan(prefix, visit, ctx, &chain_->error_text()) || failed();
  }
  bool ready() const override { return chain_->state_ready(); }
  streams_origin origin(int64_t offset) const override {
    streams_origin o = chain_->current_input().origin;
    o.offset = offset;
    return o;
  }

 private:
  const streams_function& function() const { return *chain_->binding(step_).function; }
  void* instance() const { return chain_->instance(step_); }
  // An init/add/merge must set the accumulator once and emit nothing.
  Status finish(const streams_call& call, int32_t status, std::string* acc) {
    if (status == STREAMS_OK && call.emitted == 0 && call.accumulator_set && !call.violation) {
      return Status::ok;
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

  bool failed() {
    log::error("state: step '" + chain_->binding(step_).name + "': " + chain_->error_text());
    return false;
  }

  Chain* chain_;
  uint32_t step_;
  state::Table* table_;  // null: windows in memory only
  Windows windows_;
  std::string key_;  // the current record's group key
};

ReduceState& state_of(OperatorState& state) { return static_cast<ReduceState&>(state); }

auto settings(const config::StepSpec& spec) {
  const ReduceSettings& s = settings_of(spec);
  return std::make_tuple(s.window.by_time, s.window.size, s.window.slide, s.allowed_lateness_ms,
                         s.idle_flush_ms, spec.group_plugin, spec.group_function, spec.group_python,
                         spec.state != nullptr);
}

// The group_by function's key for `record` into *key.
Status group_key(Chain& chain, uint32_t step, const streams_record& record, std::string* key) {
  Chain::CallScope scope(chain, step, &record);
  streams_call& call = scope.call();
  call.capture = key;
  const int32_t status =
      chain.binding(step).key_function->process(chain.key_instance(step), &record, &call);
  if (status == STREAMS_OK && call.emitted == 1 && !call.violation) return Status::ok;
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
  const char* name() const override { return "reduce"; }
  void read(YamlReader& r, const YAML::Node& node, const std::string& key,
            const config::StepReadContext&, config::StepSpec* step) const override {
    r.check_keys(node, key,
                 {"kind", "name", "plugin", "function", "python", "config", "window", "group_by",
                  "allowed_lateness_ms", "idle_flush_ms", "state"});
    auto s = std::make_shared<ReduceSettings>();
    config::read_function(r, node, key, step);
    read_window(r, node, key, step->name, &s->window);
    read_group_by(r, node, key, step);
    if (auto ms = r.integer(node, key, "allowed_lateness_ms", 0, config::kMaxMs)) {
      s->allowed_lateness_ms = *ms;
    }
    if (auto ms = r.integer(node, key, "idle_flush_ms", 0, config::kMaxMs)) s->idle_flush_ms = *ms;
    if (!s->window.by_time && (node["allowed_lateness_ms"] || node["idle_flush_ms"])) {
      r.warn(node, key, "allowed_lateness_ms and idle_flush_ms apply to time windows only");
    }
    config::refuse_state_ttl(r, node, key, "reduce");
    step->settings = std::move(s);
  }
  bool keeps_state() const override { return true; }
  std::string describe(const config::StepSpec& step) const override;
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
  Status run(Chain& chain, uint32_t step, const streams_record& record) const override {
    ReduceState& state = state_of(*chain.state(step));
    const std::string* key = nullptr;
    if (chain.binding(step).key_function) {
      const Status status = group_key(chain, step, record, &state.key());
      if (status != Status::ok) return status == Status::fatal ? status : Status::ok;
      key = &state.key();
    }
    int64_t event_ms = record.timestamp_ms;
    if (event_ms < 0) event_ms = wall_ms();
    std::string late;  // allocates only for a late record
    const Status status =
        state.windows().add(key, record, event_ms, chain.current_input(), chain.now_ms(), &late);
    if (status == Status::reported && !late.empty()) {
      return chain.report(step, STREAMS_ERR_INVALID_INPUT, late, record);
    }
    return status == Status::fatal ? Status::fatal : Status::ok;
  }
  Status tick(Chain&, uint32_t, OperatorState& state, int64_t now) const override {
    return state_of(state).windows().tick(now);
  }
  Status finish(Chain&, uint32_t, OperatorState& state) const override {
    return state_of(state).windows().finish();
  }
  size_t held_inputs(const OperatorState& state) const override {
    return static_cast<const ReduceState&>(state).windows().holds();
  }
  // The result call emits the window's records; init, add and merge none.
  Status returned(Chain&, uint32_t, int32_t status, const streams_call& call,
                  const streams_record& record) const override;
  uint32_t emit_limit() const override { return kNoCount; }  // the result call
};

std::string Reduce::describe(const config::StepSpec& step) const {
  const WindowSpec& w = settings_of(step).window;
  const std::string unit = w.by_time ? " ms" : " records";
  std::string out =
      std::string(w.sliding() ? " sliding " : " tumbling ") + std::to_string(w.size) + unit;
  if (w.sliding()) out += " every " + std::to_string(w.slide);
  if (!step.group_function.empty()) {
    out += " grouped by " + step.group_plugin + "." + step.group_function;
  }
  if (!step.group_python.empty()) out += " grouped by python " + step.group_python;
  return out;
}

Status Reduce::returned(Chain& chain, uint32_t step, int32_t status, const streams_call& call,
                        const streams_record& record) const {
  if (status == STREAMS_OK) return Status::ok;
  return Operator::returned(chain, step, status, call, record);
}

}  // namespace

const Operator& reduce() {
  static const Reduce op;
  return op;
}

}  // namespace streams::pipeline::operators
