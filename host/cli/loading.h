// What the subcommands share: loading a pipeline with its deployment config
// and plugins, and printing diagnostics. Thread: the main thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "common/log.h"
#include "config/deployment_config.h"
#include "config/diagnostics.h"
#include "config/pipeline_config.h"
#include "pipeline/generation.h"
#include "plugin/plugin_registry.h"

namespace streams::cli {

// The generation of `args`' pipeline (YAML, or a Python file defining
// `pipeline`, described by the bridge of `registry`) and deployment config.
// `kafka`: it will run on Kafka (brokers required, client settings checked);
// else locally, where the deployment file is optional. Plugins come from
// `registry`, pointed at the plugins directory. Null with `diag` filled.
std::shared_ptr<const pipeline::Generation> load(const PipelineArgs& args, bool kafka,
                                                 config::Diagnostics& diag,
                                                 plugin::PluginRegistry& registry);

// The plugins directory of `args` and deployment `d`: --plugins-dir, else
// the deployment's plugins_dir (relative to its file), else ./plugins.
std::string plugins_dir_of(const PipelineArgs& args, const config::DeploymentConfig& d);

// The pipeline file `path` into *out: YAML, or a Python file defining
// `pipeline` with the DSL, run by the Python bridge of `registry` (its
// modules from pipeline::python_dirs(), Parser schemas from schemas/ beside
// it). False with `diag` filled.
bool load_pipeline(const std::string& path, const config::DeploymentConfig& deployment,
                   plugin::PluginRegistry& registry, config::PipelineSpec* out,
                   config::Diagnostics& diag);

// The host's directory of its own files (--state-dir `option`, else
// $STREAMS_STATE_DIR, else /var/tmp/streams-host).
std::string host_state_dir(const std::string& option);
// Where stateful steps keep their stores: the deployment's `state_dir`,
// else stores/<pipeline> under --state-dir `option` or $STREAMS_STATE_DIR
// when one is given, else ./state/<pipeline>.
std::string stores_dir(const std::string& option, const std::string& deployment_state_dir,
                       const std::string& pipeline);

// KEY=VALUE settings (librdkafka's) given with `option` into `out`, after
// what is there. False with an error on stderr for one without a '='.
bool add_settings(const char* option, const std::vector<std::string>& settings,
                  std::vector<std::pair<std::string, std::string>>* out);

// "error: what" (or "warning: what") on stderr, or a JSON log line with
// --log-format json.
void print_problem(log::Level level, const std::string& what);

// Every warning and error of `diag`, as print_problem does.
void report(const config::Diagnostics& diag);

}  // namespace streams::cli
