// The streams-host subcommands, separated from argument parsing.
// Each returns the process exit status: 0 ok, 1 runtime failure,
// 2 bad configuration or usage.
#pragma once

#include <atomic>
#include <string>
#include <vector>

namespace streams::cli {

struct PipelineArgs {
  std::string pipeline_path;
  std::string config_path;
  std::string plugins_dir;  // empty: deployment `plugins_dir`, else ./plugins
  int segment_id = 0;
};

struct RunArgs {
  PipelineArgs pipeline;  // config_path may be empty with runtime "local"
  std::string runtime = "kafka";
  std::string name;
  std::string log_level = "info";
  std::string error_policy;  // empty: the deployment's
  // local runtime
  std::string input = "-";
  std::string input_format = "lines";
  std::vector<std::string> outputs;  // SINK=PATH
};

struct GraphArgs {
  std::string pipeline_path;
  std::string config_path;  // optional: segments come from it
  std::string format = "mermaid";
};

int run_command(const RunArgs& args, const std::atomic<bool>& stop);
int graph_command(const GraphArgs& args);
int validate_command(const PipelineArgs& args);

}  // namespace streams::cli
