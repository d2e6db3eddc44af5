#include "pipeline/operators/flat_map.h"

#include "pipeline/chain_internal.h"
#include "pipeline/operators/function_step.h"

namespace streams::pipeline::operators {
namespace {

class FlatMap final : public FunctionStep {
 public:
  const char* name() const override { return "flat_map"; }
  int32_t function_kind() const override { return STREAMS_KIND_FLAT_MAP; }
  // Each record went on when it was emitted.
  Status returned(Chain& chain, uint32_t step, int32_t status, const streams_call& call,
                  const streams_record& record) const override {
    if (status == STREAMS_OK) return Status::ok;
    return FunctionStep::returned(chain, step, status, call, record);
  }
  uint32_t emit_limit() const override { return kNoCount; }
};

}  // namespace

const Operator& flat_map() {
  static const FlatMap op;
  return op;
}

}  // namespace streams::pipeline::operators
