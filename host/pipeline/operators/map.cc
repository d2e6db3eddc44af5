#include "pipeline/operators/map.h"

#include "pipeline/chain_internal.h"
#include "pipeline/operators/function_step.h"

namespace streams::pipeline::operators {
namespace {

class Map final : public FunctionStep {
 public:
  const char* name() const override { return "map"; }
  int32_t function_kind() const override { return STREAMS_KIND_MAP; }
  // The one record went on when it was emitted.
  uint32_t done_after_emitting() const override { return 1; }
  Status returned(Chain& chain, uint32_t step, int32_t status, const streams_call& call,
                  const streams_record& record) const override {
    if (status == STREAMS_OK && call.emitted == 1) return Status::ok;
    return FunctionStep::returned(chain, step, status, call, record);
  }
  uint32_t emit_limit() const override { return 1; }
};

}  // namespace

const Operator& map() {
  static const Map op;
  return op;
}

}  // namespace streams::pipeline::operators
