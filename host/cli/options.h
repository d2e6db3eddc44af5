// The subcommands' options (CLI11), one function per subcommand, each
// returning what main() dispatches to: the parsed command and how to run it.
#pragma once

#include <atomic>
#include <functional>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace streams::cli {

struct Subcommand {
  CLI::App* app;  // owned by the parent App
  // Runs it once parsed; the exit status. `stop` is set by SIGTERM/SIGINT.
  std::function<int(const std::atomic<bool>& stop)> run;
};

// --config, --segment-id, --plugins-dir, the plugin policy flags, PIPELINE.
void add_pipeline_options(CLI::App* cmd, PipelineArgs* args, bool config_required);

Subcommand add_run(CLI::App& app);                         // options_run.cc
std::vector<Subcommand> add_admin_clients(CLI::App& app);  // reload, pause, status, top
Subcommand add_validate(CLI::App& app);                    // options_tools.cc
Subcommand add_graph(CLI::App& app);
Subcommand add_render(CLI::App& app);
Subcommand add_dlq(CLI::App& app);
Subcommand add_offsets(CLI::App& app);
Subcommand add_dev_broker(CLI::App& app);

}  // namespace streams::cli
