#include "pipeline/operators/map.h"

#include "config/step_readers.h"
#include "pipeline/chain_internal.h"

namespace streams::pipeline::operators {
namespace {

class Map final : public Operator {
 public:
  const char* name() const override { return "map"; }
  void read(config::YamlReader& r, const YAML::Node& node, const std::string& key,
            const config::StepReadContext&, config::StepSpec* step) const override {
    config::read_function_step(r, node, key, step);
  }
  int32_t function_kind() const override { return STREAMS_KIND_MAP; }
  int32_t run(Chain& chain, uint32_t step, const streams_record& record) const override {
    return chain.run_plugin(step, record);
  }
  // The one record went on when it was emitted.
  int32_t returned(Chain& chain, uint32_t step, int32_t status, const streams_call& call,
                   const streams_record& record) const override {
    if (status == STREAMS_OK && call.emitted == 1) return STREAMS_OK;
    return Operator::returned(chain, step, status, call, record);
  }
  bool may_emit(uint32_t emitted, bool) const override { return emitted == 1; }
};

}  // namespace

const Operator& map() {
  static const Map op;
  return op;
}

}  // namespace streams::pipeline::operators
