#include "config/pipeline_config.h"

#include "config/names.h"

#include <set>

#include "common/edit_distance.h"
#include "config/step_readers.h"
#include "config/yaml_reader.h"

namespace streams::config {
namespace {

constexpr Name<Codec> kCodecs[] = {{Codec::json, "json"}, {Codec::msgpack, "msgpack"}};

std::string directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
}

// `what` names the list in messages ("the pipeline", "branch 'b' of 'r'").
bool read_steps(YamlReader& r, const YAML::Node& list, const std::string& key,
                const std::string& what, const Components& components, std::vector<StepSpec>* out);

void read_branches(YamlReader& r, const YAML::Node& node, const std::string& key,
                   const Components& components, StepSpec* step) {
  const std::string bkey = join_key(key, "branches");
  YAML::Node branches = node["branches"];
  if (!branches || (branches.IsMap() && branches.size() == 0)) {
    r.error(branches ? branches : node, bkey,
            std::string("a ") + step->kind() +
                " needs branches (a map of branch "
                "name to a list of steps)");
    return;
  }
  if (!r.expect_map(branches, bkey)) return;
  for (const auto& entry : branches) {
    BranchSpec branch;
    auto name = r.scalar(entry.first, bkey, "a branch name");
    if (!name) continue;
    branch.name = *name;
    const std::string key_b = join_key(bkey, branch.name);
    branch.location = r.at(entry.second, key_b);
    const std::string what = "branch '" + branch.name + "' of '" + step->name + "'";
    if (read_steps(r, entry.second, key_b, what, components, &branch.steps)) {
      step->branches.push_back(std::move(branch));
    }
  }
}

bool read_step(YamlReader& r, const YAML::Node& node, const std::string& key,
               const Components& components, StepSpec* step) {
  if (!r.expect_map(node, key)) return false;
  step->location = r.at(node, key);
  auto kind = r.string(node, key, "kind", true);
  if (auto name = r.string(node, key, "name", true)) step->name = *name;
  if (!kind) return false;
  step->type = components.steps.find(*kind);
  if (!step->type) {
    r.error(node["kind"], join_key(key, "kind"),
            "unknown step kind '" + *kind + "'" + did_you_mean(*kind, components.steps.list()) +
                " (expected one of " + components.steps.names() + ")");
    return false;
  }
  step->type->read(r, node, key, {components.sinks, directory_of(r.file())}, step);
  if (step->type->branching()) read_branches(r, node, key, components, step);
  return true;
}

// A list ends in a sink or a branching step, and has neither before its end.
void check_list(YamlReader& r, const YAML::Node& list, const std::string& key,
                const std::string& what, const std::vector<StepSpec>& steps) {
  for (size_t i = 0; i < steps.size(); ++i) {
    const StepSpec& step = steps[i];
    const bool last = i + 1 == steps.size();
    const bool branching = step.type->branching();
    const bool ends = step.type->is_sink() || branching;
    if (ends && !last) {
      r.error(list[i], index_key(key, i),
              std::string("a ") + step.kind() + " ends its list of steps; '" + step.name +
                  "' is followed by more" + (branching ? " (put them in its branches)" : ""));
    }
    if (last && !ends) {
      r.error(list[i], index_key(key, i),
              what + " must end in a sink; its last step '" + step.name + "' is a " + step.kind());
    }
  }
}

bool read_steps(YamlReader& r, const YAML::Node& list, const std::string& key,
                const std::string& what, const Components& components, std::vector<StepSpec>* out) {
  if (!r.expect_sequence(list, key)) return false;
  if (list.size() == 0) {
    r.error(list, key, "expected at least one step (a sink)");
    return false;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    StepSpec step;
    if (read_step(r, list[i], index_key(key, i), components, &step))
      out->push_back(std::move(step));
  }
  if (out->size() == list.size()) check_list(r, list, key, what, *out);
  return true;
}

void read_source(YamlReader& r, const YAML::Node& root, PipelineSpec* out) {
  YAML::Node source = root["source"];
  if (!source) {
    r.error(root, "source", "required key is missing (expected {name, stream_name})");
    return;
  }
  if (!r.expect_map(source, "source")) return;
  r.check_keys(source, "source", {"name", "stream_name"});
  out->source.location = r.at(source, "source");
  if (auto name = r.string(source, "source", "name", true)) out->source.name = *name;
  if (auto stream = r.string(source, "source", "stream_name", true)) {
    out->source.stream_name = *stream;
  }
}

void check_names(Diagnostics& diag, const PipelineSpec& spec) {
  std::set<std::string> names{spec.source.name};
  for (const StepSpec* step : spec.all_steps()) {
    if (!step->name.empty() && !names.insert(step->name).second) {
      Location at = step->location;
      at.key += ".name";
      diag.error(at, "duplicate step name '" + step->name + "'");
    }
  }
}

template <class Fn>
void visit(const std::vector<StepSpec>& steps, Fn& fn) {
  for (const StepSpec& step : steps) {
    fn(step);
    for (const BranchSpec& b : step.branches) visit(b.steps, fn);
  }
}

}  // namespace

const char* to_string(Codec codec) { return name_of(kCodecs, codec); }
bool parse_codec(std::string_view text, Codec* out) { return parse_name(kCodecs, text, out); }
std::string codec_names() { return name_list(kCodecs); }

std::vector<const StepSpec*> PipelineSpec::all_steps() const {
  std::vector<const StepSpec*> out;
  auto add = [&](const StepSpec& s) { out.push_back(&s); };
  visit(steps, add);
  return out;
}

std::vector<const StepSpec*> PipelineSpec::sinks() const {
  std::vector<const StepSpec*> out;
  auto add = [&](const StepSpec& s) {
    if (s.type->is_sink()) out.push_back(&s);
  };
  visit(steps, add);
  return out;
}

namespace {

bool read_pipeline(YamlReader& r, const std::string& path, const Components& components,
                   PipelineSpec* out, Diagnostics& diag) {
  YAML::Node root = r.load();
  if (!diag.ok()) return false;
  out->path = path;
  if (!r.expect_map(root, "")) return false;
  r.check_keys(root, "", {"name", "source", "steps"});
  read_source(r, root, out);
  if (auto name = r.string(root, "", "name", false)) out->name = *name;
  if (out->name.empty()) out->name = out->source.name;
  YAML::Node steps = root["steps"];
  if (!steps) {
    r.error(root, "steps", "required key is missing (expected a list of steps ending in a sink)");
    return false;
  }
  read_steps(r, steps, "steps", "the pipeline", components, &out->steps);
  if (diag.ok()) check_names(diag, *out);
  return diag.ok();
}

}  // namespace

bool load_pipeline_spec(const std::string& path, const Components& components, PipelineSpec* out,
                        Diagnostics& diag) {
  YamlReader r(path, diag, /*resolve_env=*/false);
  return read_pipeline(r, path, components, out, diag);
}

bool load_pipeline_text(const std::string& path, const std::string& text,
                        const Components& components, PipelineSpec* out, Diagnostics& diag) {
  YamlReader r(path, diag, /*resolve_env=*/false);
  r.set_text(text);
  return read_pipeline(r, path, components, out, diag);
}

bool is_python_pipeline(const std::string& path) {
  return path.size() > 3 && path.compare(path.size() - 3, 3, ".py") == 0;
}

}  // namespace streams::config
