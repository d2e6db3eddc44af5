// The base of kinds whose step is their plugin function, called once per
// record (map, filter, flat_map, route): the function's keys, and a run()
// the Chain calls inline (runs_plugin_only).
#pragma once

#include "config/step_readers.h"
#include "pipeline/chain.h"
#include "pipeline/operator.h"

namespace streams::pipeline::operators {

class FunctionStep : public Operator {
 public:
  void read(config::YamlReader& r, const YAML::Node& node, const std::string& key,
            const config::StepReadContext&, config::StepSpec* step) const override {
    config::read_function_step(r, node, key, step);
  }
  Status run(Chain& chain, uint32_t step, const streams_record& record) const override {
    return chain.run_plugin(step, record);
  }
  bool runs_plugin_only() const final { return true; }
};

}  // namespace streams::pipeline::operators
