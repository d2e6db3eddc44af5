#include "pipeline/operators/filter.h"

#include "pipeline/chain_internal.h"
#include "pipeline/operators/function_step.h"

namespace streams::pipeline::operators {
namespace {

class Filter final : public FunctionStep {
 public:
  const char* name() const override { return "filter"; }
  int32_t function_kind() const override { return STREAMS_KIND_FILTER; }
  bool may_drop() const override { return true; }
  Status returned(Chain& chain, uint32_t step, int32_t status, const streams_call& call,
                  const streams_record& record) const override {
    if (status == STREAMS_OK && call.emitted == 0)
      return chain.run(chain.binding(step).next, record);
    return FunctionStep::returned(chain, step, status, call, record);
  }
};

}  // namespace

const Operator& filter() {
  static const Filter op;
  return op;
}

}  // namespace streams::pipeline::operators
