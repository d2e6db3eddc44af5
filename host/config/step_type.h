// Step kinds as the pipeline file knows them (control plane): the `kind:`
// name, the keys a step of the kind reads and how the graph describes it.
// Each kind is one pipeline::Operator (host/pipeline/operators/), which
// implements StepType; the table of them (operators/table.cc) is the
// StepTypes the config reader gets. The reader, the graph printer and the
// generation ask the type; none of them names a kind.
//
// Lifetime: types are static and immutable; settings are immutable and
// shared by the specs that hold them.
// Thread: any (everything is const).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.h"
#include "config/step_overrides.h"

namespace YAML {  // yaml-cpp: readers include <yaml-cpp/yaml.h>
class Node;
}

namespace streams::config {

class YamlReader;
class SinkTypes;
struct StepSpec;
struct StepDeployment;

// A step's own settings (beyond its name, function and branches), read by
// its type. Each type downcasts to its own class.
class StepSettings {
 public:
  virtual ~StepSettings() = default;
};

// What a type's read() may use besides the node.
struct StepReadContext {
  const SinkTypes& sinks;
  std::string dir;  // the pipeline file's directory, for relative paths
};

class StepType {
 public:
  virtual ~StepType() = default;
  // The step's `kind`.
  virtual const char* name() const = 0;
  // Runs a function: `plugin`, `function` and `config`, or `python`.
  virtual bool uses_function() const { return false; }
  // Continues in named `branches` (and so ends its list of steps).
  virtual bool branching() const { return false; }
  // Writes to a sink (and so ends its list of steps).
  virtual bool is_sink() const { return false; }
  // Reads the step's own keys into *step (its function, branches and
  // `name` are read by the reader; unknown keys are errors, checked here).
  virtual void read(YamlReader& r, const YAML::Node& node, const std::string& key,
                    const StepReadContext& ctx, StepSpec* step) const = 0;
  // What the graph shows after the kind and function: " json 100 records".
  virtual std::string describe(const StepSpec& step) const {
    (void)step;
    return "";
  }
  // Files the step reads besides the pipeline's (a parser's JSON Schema),
  // absolute: what `render k8s` ships with the pipeline file, and a change
  // of which is a reload (its settings then differ: same_settings).
  virtual std::vector<std::string> files(const StepSpec& step) const {
    (void)step;
    return {};
  }
  // Applies to *step the overrides of its segment's steps_config entry that
  // the kind takes (the original's: a Batch's batch_size, batch_timedelta);
  // returns those it does not take (warned about and ignored).
  virtual StepOverrides deploy(StepSpec* step, const StepOverrides& entry) const {
    (void)step;
    return entry;
  }
};

// The step kinds a host knows (pipeline/operators/table.cc).
class StepTypes {
 public:
  virtual ~StepTypes() = default;
  // Null when there is no such kind.
  virtual const StepType* find(std::string_view name) const = 0;
  // Every kind's name, in the table's order.
  virtual std::vector<std::string> list() const = 0;
  // "map, filter, ...", for errors.
  std::string names() const {
    std::string out;
    for (const std::string& name : list()) out += (out.empty() ? "" : ", ") + name;
    return out;
  }
};

}  // namespace streams::config
