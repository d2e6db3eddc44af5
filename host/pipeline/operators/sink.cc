#include "pipeline/operators/sink.h"

#include "pipeline/chain_internal.h"

namespace streams::pipeline::operators {
namespace {

class Sink final : public Operator {
 public:
  // Sink settings are compared, and their changes judged, per sink type
  // (generation_diff.cc).
  void bind(const config::StepSpec& spec, BindContext& ctx, StepBinding* out) const override {
    Generation& g = ctx.generation;
    out->sink = static_cast<uint32_t>(g.sinks.size());
    g.sinks.push_back({spec.name, spec.sink_type, spec.sink, ctx.step});
  }
  int32_t run(Chain& chain, uint32_t step, const streams_record& record) const override {
    const StepBinding& binding = chain.binding(step);
    switch (chain.write(binding.sink, record, &chain.error_text())) {
      case WriteResult::ok:
        chain.step_metrics(step).written.add();
        return STREAMS_OK;
      case WriteResult::rejected:
        return chain.report(step, kErrSinkRejected, chain.error_text(), record);
      case WriteResult::stop:
        break;
    }
    chain.stop();
    return STREAMS_FATAL;
  }
};

}  // namespace

const Operator& sink() {
  static const Sink op;
  return op;
}

}  // namespace streams::pipeline::operators
