#include "pipeline/operators/route.h"

#include "pipeline/chain_internal.h"
#include "pipeline/operators/function_step.h"

namespace streams::pipeline::operators {
namespace {

std::string branch_names(const StepBinding& step) {
  std::string names;
  for (const auto& b : step.branches) names += (names.empty() ? "'" : ", '") + b.name + "'";
  return names;
}

class Route final : public FunctionStep {
 public:
  const char* name() const override { return "route"; }
  bool branching() const override { return true; }
  void read(config::YamlReader& r, const YAML::Node& node, const std::string& key,
            const config::StepReadContext&, config::StepSpec* step) const override {
    r.check_keys(node, key,
                 {"kind", "name", "plugin", "function", "python", "config", "state", "branches"});
    config::read_function(r, node, key, step);
  }
  int32_t function_kind() const override { return STREAMS_KIND_ROUTE; }
  Status returned(Chain& chain, uint32_t step, int32_t status, const streams_call& call,
                  const streams_record& record) const override {
    if (status != STREAMS_OK || call.emitted != 0) {
      return FunctionStep::returned(chain, step, status, call, record);
    }
    const StepBinding& binding = chain.binding(step);
    if (call.branch != kNoStep) return chain.run(binding.branches[call.branch].step, record);
    if (call.branch_unknown) {
      return chain.report(step, STREAMS_ERR_PROCESSING,
                          "route chose branch '" + *call.error_message + "'; the branches are " +
                              branch_names(binding),
                          record);
    }
    return chain.report(step, STREAMS_ERR_CONTRACT, "route chose no branch", record);
  }
  bool selects_branch() const override { return true; }
};

}  // namespace

const Operator& route() {
  static const Route op;
  return op;
}

}  // namespace streams::pipeline::operators
