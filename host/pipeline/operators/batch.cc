#include "pipeline/operators/batch.h"

#include <tuple>

#include "config/step_readers.h"
#include "pipeline/batcher.h"
#include "pipeline/chain_internal.h"

namespace streams::pipeline::operators {
namespace {

const BatchSettings& settings_of(const config::StepSpec& spec) {
  return static_cast<const BatchSettings&>(*spec.settings);
}

struct BatchState final : OperatorState {
  explicit BatchState(const BatchSettings& s) : batcher(s.format, s.max_count, s.max_wait_ms) {}
  Batcher batcher;
};

Batcher& batcher_of(OperatorState& state) { return static_cast<BatchState&>(state).batcher; }

class Batch final : public Operator {
 public:
  const char* name() const override { return "batch"; }
  void read(config::YamlReader& r, const YAML::Node& node, const std::string& key,
            const config::StepReadContext&, config::StepSpec* step) const override {
    r.check_keys(node, key, {"kind", "name", "max_count", "max_wait_ms", "format"});
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
  Payload payload_after(const config::StepSpec& spec, Payload) const override {
    return settings_of(spec).format == config::Codec::msgpack ? Payload::batch : Payload::bytes;
  }
  bool same_settings(const config::StepSpec& a, const config::StepSpec& b) const override {
    const BatchSettings &x = settings_of(a), &y = settings_of(b);
    return std::tie(x.format, x.max_count, x.max_wait_ms) ==
           std::tie(y.format, y.max_count, y.max_wait_ms);
  }
  bool state_carries_over(const StepBinding& before, const StepBinding& after) const override {
    return same_settings(*before.spec, *after.spec);
  }
  bool order_free() const override { return false; }

  std::unique_ptr<OperatorState> make_state(Chain& chain, uint32_t step) const override {
    return std::make_unique<BatchState>(settings_of(*chain.binding(step).spec));
  }
  Status run(Chain& chain, uint32_t step, const streams_record& record) const override {
    Batcher& batch = batcher_of(*chain.state(step));
    const bool opens = batch.empty();
    if (!batch.add(record.value, record.timestamp_ms, &chain.error_text())) {
      return chain.report(step, STREAMS_ERR_INVALID_INPUT, chain.error_text(), record);
    }
    if (opens) {
      batch.open(chain.now_ms(), chain.current_input());
      chain.hold(chain.token());
    }
    return batch.full() ? flush(chain, step, batch) : Status::ok;
  }
  Status tick(Chain& chain, uint32_t step, OperatorState& state, int64_t now) const override {
    Batcher& batch = batcher_of(state);
    return batch.due(now) ? flush(chain, step, batch) : Status::ok;
  }
  Status finish(Chain& chain, uint32_t step, OperatorState& state) const override {
    Batcher& batch = batcher_of(state);
    return batch.empty() ? Status::ok : flush(chain, step, batch);
  }
  size_t held_inputs(const OperatorState& state) const override {
    return static_cast<const BatchState&>(state).batcher.empty() ? 0 : 1;
  }

 private:
  static Status flush(Chain& chain, uint32_t step, Batcher& batch) {
    const HeldInput first = batch.first();
    metrics::StepMetrics& counts = chain.step_metrics(step);
    counts.batch_records.observe(static_cast<double>(batch.count()));
    counts.batch_age_seconds.observe(static_cast<double>(chain.now_ms() - batch.opened_ms()) /
                                     1000);
    const Status status = chain.run_derived(chain.binding(step).next, batch.record(), first);
    batch.reset();
    chain.release(first.token);
    return status;
  }
};

}  // namespace

const Operator& batch() {
  static const Batch op;
  return op;
}

}  // namespace streams::pipeline::operators
