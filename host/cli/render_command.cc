// `render k8s`: the files of a pipeline read and handed to
// config/k8s_manifests.h, the objects printed.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "cli/commands.h"
#include "cli/loading.h"
#include "config/deployment_config.h"
#include "config/k8s_manifests.h"
#include "config/step_type.h"
#include "pipeline/generation.h"
#include "plugin/plugin_registry.h"
#include "plugin/python_provider.h"

namespace streams::cli {
namespace {

namespace fs = std::filesystem;

bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

// A file for the ConfigMap: read from `source`; `under` its path below the
// pipeline file's directory when it is in a directory there ("" : at its
// base name).
struct Wanted {
  std::string source;
  std::string under;
};

// `path` relative to directory `dir` when below it; "" otherwise.
std::string below(const std::string& path, const fs::path& dir) {
  const fs::path rel = fs::weakly_canonical(path).lexically_relative(dir);
  const std::string text = rel.string();
  return rel.empty() || text.rfind("..", 0) == 0 ? "" : text;
}

// The files of the user's modules the pipeline's Python loads: those a
// Python pipeline file imported; a YAML one's `python:` modules and what
// they import (said and left out when they do not import).
std::vector<std::string> python_files(const RenderArgs& args, const config::PipelineSpec& pipeline,
                                      const config::DeploymentConfig& deployment,
                                      plugin::PluginRegistry& registry) {
  if (config::is_python_pipeline(args.pipeline_path)) return pipeline.python_modules;
  std::vector<std::string> names;
  for (const config::StepSpec* step : pipeline.all_steps()) {
    for (const std::string* name : {&step->python, &step->group_python}) {
      if (!name->empty()) names.push_back(*name);
    }
  }
  std::vector<std::string> files, errors;
  if (names.empty()) return files;
  const std::vector<std::string> dirs = pipeline::python_dirs(pipeline, deployment);
  std::string error;
  if (!registry.python().imported_files(names, dirs, plugin::PythonProvider::code_hash(dirs),
                                        &files, &errors, &error)) {
    errors.push_back(error);
  }
  for (const std::string& e : errors) {
    std::fprintf(stderr,
                 "warning: %s: python: %s\n(the ConfigMap holds the modules that did load; the "
                 "pods fail alike unless their image has what is missing)\n",
                 args.pipeline_path.c_str(), e.c_str());
  }
  return files;
}

// What the pipeline uses from beside it besides the files given: its
// Python modules (python_files), each parser's JSON Schema. One from
// outside the pipeline file's directory (python_path, an absolute schema
// path) is said.
void add_used_files(const RenderArgs& args, const config::PipelineSpec& pipeline,
                    const config::DeploymentConfig& deployment, plugin::PluginRegistry& registry,
                    std::vector<Wanted>* wanted) {
  const fs::path dir = fs::weakly_canonical(args.pipeline_path).parent_path();
  std::vector<std::string> used = python_files(args, pipeline, deployment, registry);
  for (const config::StepSpec* step : pipeline.all_steps()) {
    for (std::string& file : step->type->files(*step)) used.push_back(std::move(file));
  }
  for (const std::string& file : used) {
    const std::string rel = below(file, dir);
    const bool given = std::any_of(wanted->begin(), wanted->end(), [&](const Wanted& w) {
      return fs::weakly_canonical(w.source) == fs::weakly_canonical(file);
    });
    if (given) continue;
    if (rel.empty()) {
      std::fprintf(stderr,
                   "warning: %s: it uses %s, which is not in its directory: the pods will not "
                   "have it (install it into the image)\n",
                   args.pipeline_path.c_str(), file.c_str());
      continue;
    }
    std::fprintf(stderr, "%s: the ConfigMap holds %s, which it uses\n", args.pipeline_path.c_str(),
                 rel.c_str());
    wanted->push_back({file, rel.find('/') == std::string::npos ? "" : rel});
  }
}

// The ConfigMap's files: the pipeline file, the deployment config, what
// the pipeline uses from its directory, the --file ones. False (said) when
// one cannot be read or two share a key.
bool gather(const RenderArgs& args, const config::PipelineSpec& pipeline,
            const config::DeploymentConfig& deployment, plugin::PluginRegistry& registry,
            std::vector<config::K8sFile>* files) {
  std::vector<Wanted> wanted{{args.pipeline_path, ""}, {args.config_path, ""}};
  for (const std::string& f : args.files) wanted.push_back({f, ""});
  add_used_files(args, pipeline, deployment, registry, &wanted);
  for (const Wanted& w : wanted) {
    config::K8sFile f;
    // A key cannot name a directory: schemas/x.json is the key schemas.x.json.
    f.name = w.under.empty() ? fs::path(w.source).filename().string() : w.under;
    std::replace(f.name.begin(), f.name.end(), '/', '.');
    f.path = w.under;
    if (!read_file(w.source, &f.text)) {
      std::fprintf(stderr, "error: %s: cannot read\n", w.source.c_str());
      return false;
    }
    for (const config::K8sFile& other : *files) {
      if (other.name == f.name) {
        std::fprintf(stderr, "error: %s: another file is named %s in the ConfigMap\n",
                     w.source.c_str(), f.name.c_str());
        return false;
      }
    }
    files->push_back(std::move(f));
  }
  return true;
}

}  // namespace

int render_k8s_command(const RenderArgs& args) {
  config::Diagnostics diag;
  config::PipelineSpec pipeline;
  config::DeploymentConfig deployment;
  bool ok = config::load_deployment_config(args.config_path, &deployment, diag,
                                           /*require_env=*/false);
  plugin::PluginRegistry registry("");
  ok = load_pipeline(args.pipeline_path, deployment, registry, &pipeline, diag) && ok;
  report(diag);
  if (!ok) return 2;
  std::vector<config::K8sFile> files;
  if (!gather(args, pipeline, deployment, registry, &files)) return 2;
  config::K8sOptions o;
  o.image = args.image;
  o.ns = args.ns;
  o.replicas = args.replicas;
  o.admin_port = args.admin_port;
  o.token_secret = args.token_secret;
  o.metrics_need_token = args.metrics_need_token;
  o.plugins_claim = args.plugins_claim;
  o.state_size = args.state_size;
  for (const std::string& kv : args.env) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "error: --env %s: expected NAME=VALUE\n", kv.c_str());
      return 2;
    }
    o.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  for (const std::string& kv : args.secret_env) {
    const size_t eq = kv.find('='), colon = kv.find(':', eq == std::string::npos ? 0 : eq);
    if (eq == std::string::npos || eq == 0 || colon == std::string::npos || colon == eq + 1 ||
        colon + 1 == kv.size()) {
      std::fprintf(stderr, "error: --env-secret %s: expected NAME=SECRET:KEY\n", kv.c_str());
      return 2;
    }
    o.secret_env.push_back(
        {kv.substr(0, eq), kv.substr(eq + 1, colon - eq - 1), kv.substr(colon + 1)});
  }
  for (const std::string& at : config::secrets_written_in(files[1].text)) {
    std::fprintf(stderr,
                 "warning: %s: %s holds a secret written in the file, which goes into the "
                 "ConfigMap as it is: write ${envvar:NAME} there and give it with --env-secret "
                 "NAME=SECRET:KEY\n",
                 args.config_path.c_str(), at.c_str());
  }
  std::string error;
  const std::string text = config::render_k8s(pipeline, deployment, files, o, &error);
  if (text.empty()) {
    std::fprintf(stderr, "error: %s\n", error.c_str());
    return 2;
  }
  std::fputs(text.c_str(), stdout);
  return 0;
}

}  // namespace streams::cli
