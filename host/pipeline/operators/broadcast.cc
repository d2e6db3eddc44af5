#include "pipeline/operators/broadcast.h"

#include "pipeline/chain_internal.h"

namespace streams::pipeline::operators {
namespace {

class Broadcast final : public Operator {
 public:
  int32_t run(Chain& chain, uint32_t step, const streams_record& record) const override {
    for (const BranchTarget& branch : chain.binding(step).branches) {
      if (chain.run(branch.step, record) == STREAMS_FATAL) return STREAMS_FATAL;
    }
    return STREAMS_OK;
  }
};

}  // namespace

const Operator& broadcast() {
  static const Broadcast op;
  return op;
}

}  // namespace streams::pipeline::operators
