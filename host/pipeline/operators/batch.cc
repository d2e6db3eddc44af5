#include "pipeline/operators/batch.h"

#include <cstring>
#include <tuple>
#include <vector>

#include "common/bytes.h"
#include "common/log.h"
#include "config/step_readers.h"
#include "pipeline/batcher.h"
#include "pipeline/chain_internal.h"

namespace streams::pipeline::operators {
namespace {

const BatchSettings& settings_of(const config::StepSpec& spec) {
  return static_cast<const BatchSettings&>(*spec.settings);
}

// The open batch of one partition. With `state:` its records are entries of
// the step's Table as well, so a restarted host goes on with it: key 'r' and
// the record's index in the batch (32-bit big endian); value the input's
// offset and the record's timestamp (64-bit little endian), then its value.
// Such a batch holds no input: its record is the current input's (or the
// idle stand-in's, Chain::tick).
struct BatchState final : OperatorState {
  BatchState(const BatchSettings& s, state::Table* t)
      : batcher(s.format, s.max_count, s.max_wait_ms), table(t) {}
  Batcher batcher;
  state::Table* table;  // null: in memory, holding its first input
  bool loaded = false;
  int64_t saved = 0;  // records of the open batch in the Table
  std::string key, value;

  const std::string& key_of(int64_t index) {
    key.assign(1, 'r');
    for (int i = 3; i >= 0; --i) key.push_back(static_cast<char>(index >> (8 * i)));
    return key;
  }
  void save(const state::PartitionState& ps, const streams_record& record, int64_t offset) {
    value.assign(reinterpret_cast<const char*>(&offset), 8);
    value.append(reinterpret_cast<const char*>(&record.timestamp_ms), 8);
    value.append(text_of(record.value));
    table->put(key_of(saved++), value, ps.stamp(), ps.clock());
  }
  void erase_saved(const state::PartitionState& ps) {
    for (int64_t i = 0; i < saved; ++i) table->erase(key_of(i), ps.stamp());
    saved = 0;
  }
};

BatchState& state_of(OperatorState& state) { return static_cast<BatchState&>(state); }

class Batch final : public Operator {
 public:
  const char* name() const override { return "batch"; }
  void read(config::YamlReader& r, const YAML::Node& node, const std::string& key,
            const config::StepReadContext&, config::StepSpec* step) const override {
    r.check_keys(node, key, {"kind", "name", "max_count", "max_wait_ms", "format", "state"});
    config::read_state(r, node, key, step);
    config::refuse_state_ttl(r, node, key, "batch");
    auto s = std::make_shared<BatchSettings>();
    if (auto n = r.integer(node, key, "max_count", 1, config::kMaxCount)) s->max_count = *n;
    if (auto ms = r.integer(node, key, "max_wait_ms", 1, config::kMaxMs)) s->max_wait_ms = *ms;
    if (!node["max_count"] && !node["max_wait_ms"]) {
      r.error(node, key, "a batch needs max_count, max_wait_ms or both");
    }
    config::read_format(r, node, key, &s->format);
    step->settings = std::move(s);
  }
  std::string describe(const config::StepSpec& step) const override {
    const BatchSettings& s = settings_of(step);
    std::string out = std::string(" ") + config::to_string(s.format);
    if (s.max_count) out += " " + std::to_string(s.max_count) + " records";
    if (s.max_wait_ms) out += " " + std::to_string(s.max_wait_ms) + " ms";
    return out;
  }
  config::StepOverrides deploy(config::StepSpec* step,
                               const config::StepOverrides& entry) const override {
    config::StepOverrides left = entry;
    if (!entry.batch_size && !entry.batch_wait_ms) return left;
    auto s = std::make_shared<BatchSettings>(settings_of(*step));
    if (entry.batch_size) s->max_count = *entry.batch_size;
    if (entry.batch_wait_ms) s->max_wait_ms = *entry.batch_wait_ms;
    step->settings = std::move(s);
    left.batch_size.reset();
    left.batch_wait_ms.reset();
    return left;
  }
  Payload payload_after(const config::StepSpec& spec, Payload) const override {
    return settings_of(spec).format == config::Codec::msgpack ? Payload::batch : Payload::bytes;
  }
  bool same_settings(const config::StepSpec& a, const config::StepSpec& b) const override {
    const BatchSettings &x = settings_of(a), &y = settings_of(b);
    return std::tie(x.format, x.max_count, x.max_wait_ms) ==
               std::tie(y.format, y.max_count, y.max_wait_ms) &&
           (a.state != nullptr) == (b.state != nullptr);
  }
  bool keeps_state() const override { return true; }
  bool state_carries_over(const StepBinding& before, const StepBinding& after) const override {
    return same_settings(*before.spec, *after.spec);
  }
  bool order_free() const override { return false; }

  std::unique_ptr<OperatorState> make_state(Chain& chain, uint32_t step) const override {
    return std::make_unique<BatchState>(settings_of(*chain.binding(step).spec), chain.table(step));
  }
  Status run(Chain& chain, uint32_t step, const streams_record& record) const override {
    BatchState& st = state_of(*chain.state(step));
    if (st.table && !st.loaded) {
      if (const Status status = load(chain, step, st); status != Status::ok) return status;
    }
    Batcher& batch = st.batcher;
    const bool opens = batch.empty();
    if (!batch.add(record.value, record.timestamp_ms, &chain.error_text())) {
      return chain.report(step, STREAMS_ERR_INVALID_INPUT, chain.error_text(), record);
    }
    if (opens) {
      batch.open(chain.now_ms(), chain.current_input());
      if (!st.table) chain.hold(chain.token());
    }
    if (batch.full()) return flush(chain, step, st);
    if (st.table) st.save(*chain.partition_state(), record, chain.current_input().origin.offset);
    return Status::ok;
  }
  Status tick(Chain& chain, uint32_t step, OperatorState& state, int64_t now) const override {
    BatchState& st = state_of(state);
    if (st.table && !st.loaded) {
      if (!chain.state_ready()) return Status::ok;
      if (const Status status = load(chain, step, st); status != Status::ok) return status;
    }
    if (!st.batcher.due(now)) return Status::ok;
    // A state-backed batch emits with an input or the idle stand-in only.
    return st.table && !chain.state_ready() ? Status::ok : flush(chain, step, st);
  }
  Status finish(Chain& chain, uint32_t step, OperatorState& state) const override {
    BatchState& st = state_of(state);
    if (st.table) {
      if (!chain.state_ready()) return Status::ok;
      if (!st.loaded) {
        if (const Status status = load(chain, step, st); status != Status::ok) return status;
      }
    }
    return st.batcher.empty() ? Status::ok : flush(chain, step, st);
  }
  size_t held_inputs(const OperatorState& state) const override {
    const auto& st = static_cast<const BatchState&>(state);
    return st.table || st.batcher.empty() ? 0 : 1;
  }

 private:
  static Status flush(Chain& chain, uint32_t step, BatchState& st) {
    Batcher& batch = st.batcher;
    const HeldInput first = batch.first();
    metrics::StepMetrics& counts = chain.step_metrics(step);
    counts.batch_records.observe(static_cast<double>(batch.count()));
    counts.batch_age_seconds.observe(static_cast<double>(chain.now_ms() - batch.opened_ms()) /
                                     1000);
    // A state-backed batch holds no input: its record is the current input's.
    const HeldInput input = st.table ? HeldInput{chain.token(), first.origin} : first;
    const Status status = chain.run_derived(chain.binding(step).next, batch.record(), input);
    batch.reset();
    if (st.table) {
      st.erase_saved(*chain.partition_state());
    } else {
      chain.release(first.token);
    }
    return status;
  }
  // Reads the open batch a previous run left in the Table (once, when
  // ready). A record the batch's format now refuses is a record error.
  static Status load(Chain& chain, uint32_t step, BatchState& st);
};

Status Batch::load(Chain& chain, uint32_t step, BatchState& st) {
  st.loaded = true;
  struct Entry {
    int64_t offset, timestamp;
    std::string value;
  };
  std::vector<Entry> entries;
  auto visit = [](void* ctx, std::string_view, std::string_view value) {
    if (value.size() < 16) return true;  // not one this host wrote: skipped
    Entry e;
    std::memcpy(&e.offset, value.data(), 8);
    std::memcpy(&e.timestamp, value.data() + 8, 8);
    e.value.assign(value.substr(16));
    static_cast<std::vector<Entry>*>(ctx)->push_back(std::move(e));
    return true;
  };
  if (!st.table->scan("r", visit, &entries, &chain.error_text())) {
    log::error("state: step '" + chain.binding(step).name + "': " + chain.error_text());
    return Status::fatal;
  }
  const state::PartitionState& ps = *chain.partition_state();
  st.saved = static_cast<int64_t>(entries.size());
  st.erase_saved(ps);  // saved again below, as each is taken
  for (const Entry& e : entries) {
    streams_record record{};
    record.struct_size = sizeof(record);
    record.value = bytes_of(e.value);
    record.timestamp_ms = e.timestamp;
    const bool opens = st.batcher.empty();
    if (!st.batcher.add(record.value, e.timestamp, &chain.error_text())) {
      if (chain.report(step, STREAMS_ERR_INVALID_INPUT, chain.error_text(), record) ==
          Status::fatal) {
        return Status::fatal;
      }
      continue;
    }
    if (opens) {
      HeldInput first = chain.current_input();
      first.origin.offset = e.offset;
      st.batcher.open(chain.now_ms(), first);
    }
    if (st.batcher.full()) {
      if (flush(chain, step, st) == Status::fatal) return Status::fatal;
      continue;
    }
    st.save(ps, record, e.offset);
  }
  return Status::ok;
}

}  // namespace

const Operator& batch() {
  static const Batch op;
  return op;
}

}  // namespace streams::pipeline::operators
