// What a reload from one generation to the next changes, and what of a
// running Chain the next one may keep (control plane; pure functions over
// immutable generations, safe from any thread).
#pragma once

#include <string>
#include <vector>

#include "pipeline/generation.h"

namespace streams::pipeline {

struct GenerationDiff {
  // One line per change, e.g. "step 'stamp': plugin stamp 1.0.0 -> 2.0.0".
  std::vector<std::string> changes;
  // Non-empty: why the change needs a new consumer and producers (the
  // source, its error handling or the sinks changed).
  std::string needs_restart;
};

GenerationDiff diff_generations(const Generation& before, const Generation& after);

// The steps among `stored` (steps whose state a store holds) that `g` keeps
// no state for: removed, renamed, or without `state:`.
std::vector<std::string> dropped_state(const std::vector<std::string>& stored, const Generation& g);
// Why a start or reload that drops them is refused; `where` names the store.
std::string dropped_state_error(const std::vector<std::string>& dropped, const std::string& where);

// A consumer or producer built from `a` is the one `b` asks for (the
// client settings of a steps_config entry are equal, locations aside).
bool same_client(const config::StepDeployment& a, const config::StepDeployment& b);

// Both have the same steps by name and kind in the same places, with the
// same edges and sinks, so step i of one is step i of the other.
bool same_shape(const Generation& a, const Generation& b);

// Step `i` of `after` may keep the function instances of step `i` of
// `before` (same shape assumed): the same loaded functions and config.
bool same_instances(const StepBinding& before, const StepBinding& after);

// Every batch and reduce step of `after` may keep the open batch or windows
// of `before`: same shape, same settings and, for reduce, the same
// instances (an accumulator's bytes belong to the plugin that made them).
bool state_carries_over(const Generation& before, const Generation& after);

}  // namespace streams::pipeline
