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
  Status run(Chain& chain, uint32_t step, const streams_record& record) const override {
    return chain.run_plugin(step, record);
  }
  bool runs_plugin_only() const override { return true; }
  // The one record went on when it was emitted.
  uint32_t done_after_emitting() const override { return 1; }
  Status returned(Chain& chain, uint32_t step, int32_t status, const streams_call& call,
                  const streams_record& record) const override {
    if (status == STREAMS_OK && call.emitted == 1) return Status::ok;
    return Operator::returned(chain, step, status, call, record);
  }
  uint32_t emit_limit() const override { return 1; }
};

}  // namespace

const Operator& map() {
  static const Map op;
  return op;
}

}  // namespace streams::pipeline::operators
