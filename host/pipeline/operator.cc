#include "pipeline/operator.h"

#include "pipeline/chain_internal.h"

namespace streams::pipeline {

Status Operator::returned(Chain& chain, uint32_t step, int32_t status, const streams_call& call,
                          const streams_record& record) const {
  if (status == STREAMS_DROP) {
    return chain.report(step, STREAMS_ERR_CONTRACT, "only a filter may return DROP", record);
  }
  return chain.report(step, STREAMS_ERR_CONTRACT,
                      std::string(name()) + " emitted " + std::to_string(call.emitted) +
                          " records; a map emits exactly one, a filter and a route none",
                      record);
}

}  // namespace streams::pipeline
