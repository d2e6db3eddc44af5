#include "pipeline/operators/broadcast.h"

#include "config/yaml_reader.h"
#include "pipeline/chain_internal.h"

namespace streams::pipeline::operators {
namespace {

class Broadcast final : public Operator {
 public:
  const char* name() const override { return "broadcast"; }
  bool branching() const override { return true; }
  void read(config::YamlReader& r, const YAML::Node& node, const std::string& key,
            const config::StepReadContext&, config::StepSpec*) const override {
    r.check_keys(node, key, {"kind", "name", "branches"});
  }
  Status run(Chain& chain, uint32_t step, const streams_record& record) const override {
    for (const BranchTarget& branch : chain.binding(step).branches) {
      if (chain.run(branch.step, record) == Status::fatal) return Status::fatal;
    }
    return Status::ok;
  }
};

}  // namespace

const Operator& broadcast() {
  static const Broadcast op;
  return op;
}

}  // namespace streams::pipeline::operators
