#include "pipeline/operators/sink.h"

#include "common/edit_distance.h"
#include "config/yaml_reader.h"
#include "pipeline/chain_internal.h"

namespace streams::pipeline::operators {
namespace {

class Sink final : public Operator {
 public:
  const char* name() const override { return "sink"; }
  bool is_sink() const override { return true; }
  // `type` (absent: the fallback type) and the settings that type reads.
  void read(config::YamlReader& r, const YAML::Node& node, const std::string& key,
            const config::StepReadContext& ctx, config::StepSpec* step) const override {
    auto type = r.string(node, key, "type", false);
    // A sink naming a plugin is a plugin sink without saying so.
    if (!type && node["plugin"]) type = "plugin";
    step->sink_type = type ? ctx.sinks.find(*type) : &ctx.sinks.fallback();
    if (!step->sink_type) {
      r.error(node["type"], config::join_key(key, "type"),
              "expected " + ctx.sinks.names() + ", got '" + *type + "'" +
                  did_you_mean(*type, ctx.sinks.list()));
      return;
    }
    step->sink = step->sink_type->read(r, node, key);
  }
  std::string describe(const config::StepSpec& step) const override {
    return step.sink ? " " + step.sink->describe() : "";
  }
  config::StepOverrides deploy(config::StepSpec* step,
                               const config::StepOverrides& entry) const override {
    if (!step->sink_type || !step->sink) return entry;
    return step->sink_type->deploy(&step->sink, entry);
  }
  // Sink settings are compared, and their changes judged, per sink type
  // (generation_diff.cc).
  void bind(const config::StepSpec& spec, BindContext& ctx, StepBinding* out) const override {
    Generation& g = ctx.generation;
    out->sink = static_cast<uint32_t>(g.sinks.size());
    g.sinks.push_back({spec.name, spec.sink_type, spec.sink, ctx.step});
  }
  // The Chain calls write_output inline for a step with a sink slot.
  Status run(Chain& chain, uint32_t step, const streams_record& record) const override {
    return chain.write_output(step, record);
  }
};

}  // namespace

const Operator& sink() {
  static const Sink op;
  return op;
}

}  // namespace streams::pipeline::operators
