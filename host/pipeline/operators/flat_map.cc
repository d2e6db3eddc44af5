#include "pipeline/operators/flat_map.h"

#include "config/step_readers.h"
#include "pipeline/chain_internal.h"

namespace streams::pipeline::operators {
namespace {

class FlatMap final : public Operator {
 public:
  const char* name() const override { return "flat_map"; }
  void read(config::YamlReader& r, const YAML::Node& node, const std::string& key,
            const config::StepReadContext&, config::StepSpec* step) const override {
    config::read_function_step(r, node, key, step);
  }
  int32_t function_kind() const override { return STREAMS_KIND_FLAT_MAP; }
  Status run(Chain& chain, uint32_t step, const streams_record& record) const override {
    return chain.run_plugin(step, record);
  }
  bool runs_plugin_only() const override { return true; }
  // Each record went on when it was emitted.
  Status returned(Chain& chain, uint32_t step, int32_t status, const streams_call& call,
                  const streams_record& record) const override {
    if (status == STREAMS_OK) return Status::ok;
    return Operator::returned(chain, step, status, call, record);
  }
  uint32_t emit_limit() const override { return kNoCount; }
};

}  // namespace

const Operator& flat_map() {
  static const FlatMap op;
  return op;
}

}  // namespace streams::pipeline::operators
