#include "pipeline/generation_diff.h"

#include <tuple>
#include <utility>

namespace streams::pipeline {
namespace {

using config::StepDeployment;

// What a running consumer or producer was built from (locations aside; a
// producer's queue sizes come from the bounds' values, set or not).
auto client_settings(const StepDeployment& d) {
  return std::tie(d.bootstrap_servers, d.consumer_group, d.topic, d.auto_offset_reset,
                  d.strict_offset_reset, d.override_params, d.max_in_flight_messages,
                  d.max_in_flight_bytes);
}

auto source_settings(const StepDeployment& d) {
  return std::tuple_cat(client_settings(d),
                        std::tie(d.parallelism, d.commit_interval_ms, d.drain_timeout_ms,
                                 d.error_policy, d.dlq.topic, d.dlq.bootstrap_servers,
                                 d.dlq.override_params, d.error_limits.max_consecutive_failures,
                                 d.error_limits.max_failure_ratio, d.error_limits.ratio_window));
}

// The bounds sink `i` runs with (as sink_set.cc sets them): an unset
// max_in_flight_messages is its type's default, when the type has one, so
// that writing that default out changes nothing.
std::pair<uint64_t, uint64_t> bounds(const Generation& g, size_t i) {
  const StepDeployment& d = g.sink_settings(i);
  return {d.max_in_flight_messages_with(g.sinks[i].type->default_max_in_flight_messages()),
          d.max_in_flight_bytes};
}

}  // namespace

bool same_client(const StepDeployment& a, const StepDeployment& b) {
  return client_settings(a) == client_settings(b);
}

namespace {

std::string source_change(const Generation& a, const Generation& b) {
  if (a.pipeline.source.name != b.pipeline.source.name || a.source_topic() != b.source_topic() ||
      a.consumer_group() != b.consumer_group()) {
    return "the source (its name, topic or consumer group) changed";
  }
  if (source_settings(a.source_settings()) != source_settings(b.source_settings())) {
    return "the source's steps_config (brokers, settings, dlq or error handling) changed";
  }
  return "";
}

std::string sink_change(const Generation& a, const Generation& b) {
  if (a.sinks.size() != b.sinks.size()) return "the sinks changed";
  for (size_t i = 0; i < a.sinks.size(); ++i) {
    const SinkBinding &x = a.sinks[i], &y = b.sinks[i];
    if (x.name != y.name || x.type != y.type || !x.settings->equals(*y.settings)) {
      return "sink '" + x.name + "' changed";
    }
    // The runtime sets a sink's bounds when it makes its sinks, which only
    // a restart does.
    if (bounds(a, i) != bounds(b, i)) {
      return "the in-flight bounds of sink '" + x.name +
             "' changed (max_in_flight_messages, max_in_flight_bytes)";
    }
    std::string why = x.type->restart_reason(a, b, i);
    if (!why.empty()) return why;
  }
  return "";
}

std::string plugin_text(const StepBinding& s) {
  return s.plugin + " " + s.plugin_version + " (" + s.library->path() + ")";
}

// The changes to step `b`, which has `a`'s place in the graph.
void step_changes(const StepBinding& a, const StepBinding& b, std::vector<std::string>* out) {
  const std::string step = "step '" + b.name + "': ";
  if (a.function && b.function && a.library != b.library) {
    out->push_back(step + "plugin " + plugin_text(a) + " -> " + plugin_text(b));
  } else if (a.function != b.function) {
    out->push_back(step + "function " + b.spec->function);
  }
  if (b.plugin == "python" && b.spec->python != a.spec->python) {
    out->push_back(step + "python " + b.spec->python);
  } else if (b.plugin == "python" && a.config_json != b.config_json) {
    out->push_back(step + "python modules changed");
  } else if (a.config_json != b.config_json) {
    out->push_back(step + "config " + b.config_json);
  }
  if (a.key_library != b.key_library || a.key_function != b.key_function) {
    out->push_back(step + "group_by function");
  }
  if (!b.op->same_settings(*a.spec, *b.spec)) out->push_back(step + "settings");
}

}  // namespace

bool same_shape(const Generation& a, const Generation& b) {
  if (a.steps.size() != b.steps.size()) return false;
  for (size_t i = 0; i < a.steps.size(); ++i) {
    const StepBinding &x = a.steps[i], &y = b.steps[i];
    if (x.name != y.name || x.op != y.op || x.next != y.next || x.sink != y.sink ||
        x.branches.size() != y.branches.size()) {
      return false;
    }
    for (size_t j = 0; j < x.branches.size(); ++j) {
      if (x.branches[j].name != y.branches[j].name || x.branches[j].step != y.branches[j].step) {
        return false;
      }
    }
  }
  return true;
}

bool same_instances(const StepBinding& before, const StepBinding& after) {
  return before.function == after.function && before.key_function == after.key_function &&
         before.library == after.library && before.key_library == after.key_library &&
         before.config_json == after.config_json && before.key_config_json == after.key_config_json;
}

bool state_carries_over(const Generation& before, const Generation& after) {
  if (!same_shape(before, after)) return false;
  for (size_t i = 0; i < after.steps.size(); ++i) {
    if (!after.steps[i].op->state_carries_over(before.steps[i], after.steps[i])) return false;
  }
  return true;
}

GenerationDiff diff_generations(const Generation& before, const Generation& after) {
  GenerationDiff diff;
  diff.needs_restart = source_change(before, after);
  if (diff.needs_restart.empty()) diff.needs_restart = sink_change(before, after);
  // The consumer does not read it: its follower is made again (run_command.cc).
  if (before.source_settings().control_topic != after.source_settings().control_topic) {
    diff.changes.push_back("the source's control_topic (segment pauses)");
  }
  if (!same_shape(before, after)) {
    diff.changes.push_back("the graph (steps, their kinds or edges)");
    return diff;
  }
  for (size_t i = 0; i < after.steps.size(); ++i) {
    step_changes(before.steps[i], after.steps[i], &diff.changes);
  }
  return diff;
}

std::vector<std::string> dropped_state(const std::vector<std::string>& stored,
                                       const Generation& g) {
  std::vector<std::string> dropped;
  for (const std::string& name : stored) {
    bool kept = false;
    for (const StepBinding& step : g.steps) kept = kept || (step.name == name && step.spec->state);
    if (!kept) dropped.push_back(name);
  }
  return dropped;
}

std::string dropped_state_error(const std::vector<std::string>& dropped, const std::string& where) {
  std::string names;
  for (const std::string& name : dropped) names += (names.empty() ? "'" : ", '") + name + "'";
  return where + " holds the state of step(s) " + names +
         " that the pipeline no longer keeps (removed, renamed, or without `state:`); give the "
         "step its name and `state:` back, or run with --allow-dropped-state to leave that state "
         "unused";
}

}  // namespace streams::pipeline
