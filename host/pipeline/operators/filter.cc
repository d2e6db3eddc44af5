#include "pipeline/operators/filter.h"

#include "config/step_readers.h"
#include "pipeline/chain_internal.h"

namespace streams::pipeline::operators {
namespace {

class Filter final : public Operator {
 public:
  const char* name() const override { return "filter"; }
  void read(config::YamlReader& r, const YAML::Node& node, const std::string& key,
            const config::StepReadContext&, config::StepSpec* step) const override {
    config::read_function_step(r, node, key, step);
  }
  int32_t function_kind() const override { return STREAMS_KIND_FILTER; }
  Status run(Chain& chain, uint32_t step, const streams_record& record) const override {
    return chain.run_plugin(step, record);
  }
  bool runs_plugin_only() const override { return true; }
  bool may_drop() const override { return true; }
  Status returned(Chain& chain, uint32_t step, int32_t status, const streams_call& call,
                  const streams_record& record) const override {
    if (status == STREAMS_OK && call.emitted == 0)
      return chain.run(chain.binding(step).next, record);
    return Operator::returned(chain, step, status, call, record);
  }
};

}  // namespace

const Operator& filter() {
  static const Filter op;
  return op;
}

}  // namespace streams::pipeline::operators
