#include "config/step_deployment.h"

#include "config/sink_type.h"
#include "config/step_type.h"

namespace streams::config {

namespace {

void warn_left(const StepDeployment& entry, const std::string& name, const std::string& kind,
               const StepOverrides& left, Diagnostics& diag) {
  if (left.empty()) return;
  diag.warn(entry.location,
            "step '" + name + "' is a " + kind + ", which takes no " + left.keys() + ": ignored");
}

void apply(std::vector<StepSpec>& steps, const std::map<std::string, StepDeployment>& entries,
           Diagnostics& diag) {
  for (StepSpec& spec : steps) {
    for (BranchSpec& branch : spec.branches) apply(branch.steps, entries, diag);
    const auto it = entries.find(spec.name);
    if (it == entries.end()) continue;
    const std::string kind = spec.sink_type
                                 ? std::string(spec.sink_type->name()) + " " + spec.kind()
                                 : std::string(spec.kind());
    warn_left(it->second, spec.name, kind, spec.type->deploy(&spec, it->second.overrides), diag);
  }
}

}  // namespace

void apply_step_deployment(PipelineSpec& pipeline,
                           const std::map<std::string, StepDeployment>& entries,
                           Diagnostics& diag) {
  if (const auto it = entries.find(pipeline.source.name); it != entries.end()) {
    warn_left(it->second, pipeline.source.name, "source", it->second.overrides, diag);
  }
  apply(pipeline.steps, entries, diag);
}

}  // namespace streams::config
