#include "pipeline/operators/batch.h"

#include <tuple>

#include "pipeline/batcher.h"
#include "pipeline/chain_internal.h"

namespace streams::pipeline::operators {
namespace {

struct BatchState final : OperatorState {
  explicit BatchState(const config::StepSpec& spec)
      : batcher(spec.format, spec.max_count, spec.max_wait_ms) {}
  Batcher batcher;
};

Batcher& batcher_of(OperatorState& state) { return static_cast<BatchState&>(state).batcher; }

class Batch final : public Operator {
 public:
  Payload payload_after(const config::StepSpec& spec, Payload) const override {
    return spec.format == config::Codec::msgpack ? Payload::batch : Payload::bytes;
  }
  bool same_settings(const config::StepSpec& a, const config::StepSpec& b) const override {
    return std::tie(a.format, a.max_count, a.max_wait_ms) ==
           std::tie(b.format, b.max_count, b.max_wait_ms);
  }
  bool state_carries_over(const StepBinding& before, const StepBinding& after) const override {
    return same_settings(*before.spec, *after.spec);
  }
  bool order_free() const override { return false; }

  std::unique_ptr<OperatorState> make_state(Chain& chain, uint32_t step) const override {
    return std::make_unique<BatchState>(*chain.binding(step).spec);
  }
  int32_t run(Chain& chain, uint32_t step, const streams_record& record) const override {
    Batcher& batch = batcher_of(*chain.state(step));
    const bool opens = batch.empty();
    if (!batch.add(record.value, record.timestamp_ms, &chain.error_text())) {
      return chain.report(step, STREAMS_ERR_INVALID_INPUT, chain.error_text(), record);
    }
    if (opens) {
      batch.open(chain.now_ms(), chain.current_input());
      chain.hold(chain.token());
    }
    return batch.full() ? flush(chain, step, batch) : STREAMS_OK;
  }
  int32_t tick(Chain& chain, uint32_t step, OperatorState& state, int64_t now) const override {
    Batcher& batch = batcher_of(state);
    return batch.due(now) ? flush(chain, step, batch) : STREAMS_OK;
  }
  int32_t finish(Chain& chain, uint32_t step, OperatorState& state) const override {
    Batcher& batch = batcher_of(state);
    return batch.empty() ? STREAMS_OK : flush(chain, step, batch);
  }
  size_t held_inputs(const OperatorState& state) const override {
    return static_cast<const BatchState&>(state).batcher.empty() ? 0 : 1;
  }

 private:
  static int32_t flush(Chain& chain, uint32_t step, Batcher& batch) {
    const HeldInput first = batch.first();
    metrics::StepMetrics& counts = chain.step_metrics(step);
    counts.batch_records.observe(static_cast<double>(batch.count()));
    counts.batch_age_seconds.observe(static_cast<double>(chain.now_ms() - batch.opened_ms()) /
                                     1000);
    const int32_t status = chain.run_derived(chain.binding(step).next, batch.record(), first);
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
