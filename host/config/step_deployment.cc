#include "config/step_deployment.h"

namespace streams::config {

void apply_step_deployment(std::vector<StepSpec>& steps,
                           const std::map<std::string, StepDeployment>& entries,
                           Diagnostics& diag) {
  for (StepSpec& spec : steps) {
    for (BranchSpec& branch : spec.branches) apply_step_deployment(branch.steps, entries, diag);
    const auto it = entries.find(spec.name);
    if (it == entries.end()) continue;
    const StepDeployment& entry = it->second;
    if (auto changed = spec.type->deployed(spec, entry)) {
      spec.settings = std::move(changed);
    } else if (entry.batch_size || entry.batch_wait_ms) {
      diag.warn(entry.location, std::string("batch_size and batch_timedelta are a batch step's ") +
                                    "(the original's Batch); step '" + spec.name + "' is a " +
                                    spec.kind() + ": ignored");
    }
  }
}

}  // namespace streams::config
