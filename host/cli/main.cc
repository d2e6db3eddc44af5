// streams-host: command-line entry point. Parses arguments (CLI11), installs
// signal handlers, and dispatches to the subcommands in commands.h.
#include <unistd.h>
#include <csignal>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "devbroker/dev_broker.h"

namespace {

std::atomic<bool> g_stop{false};

// First SIGTERM/SIGINT: stop gracefully. Second: exit at once.
extern "C" void on_stop_signal(int) {
  if (g_stop.exchange(true)) _exit(130);
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = &on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

void add_pipeline_options(CLI::App* cmd, streams::cli::PipelineArgs* args, bool config_required) {
  auto* config = cmd->add_option("--config", args->config_path, "Deployment config (YAML)")
                     ->check(CLI::ExistingFile);
  if (config_required) config->required();
  cmd->add_option("--segment-id", args->segment_id, "Segment of the deployment to run")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--plugins-dir", args->plugins_dir,
                  "Directory of plugin .so files (default: the deployment's plugins_dir, "
                  "else ./plugins)");
  cmd->add_option("PIPELINE", args->pipeline_path, "Pipeline file (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"streams-host: runs streaming pipelines of plugin transforms over Kafka"};
  app.require_subcommand(1);

  streams::cli::RunArgs run;
  CLI::App* run_cmd = app.add_subcommand("run", "Run a pipeline until SIGTERM/SIGINT");
  add_pipeline_options(run_cmd, &run.pipeline, /*config_required=*/false);
  run_cmd->add_option("--runtime", run.runtime, "kafka, or local: no broker, lines in and out")
      ->check(CLI::IsMember({"kafka", "local"}))
      ->capture_default_str();
  run_cmd->add_option("--input", run.input, "local: newline-delimited input file, - for stdin")
      ->capture_default_str();
  run_cmd
      ->add_option("--input-format", run.input_format,
                   "local: lines (each line a value) or json (each line an envelope "
                   "{\"value\", \"key\", \"timestamp_ms\", \"headers\"})")
      ->check(CLI::IsMember({"lines", "json"}))
      ->capture_default_str();
  run_cmd->add_option("--output", run.outputs,
                      "local: SINK=PATH writes Kafka sink SINK to PATH (default stdout)");
  run_cmd->add_option("--name", run.name,
                      "Client id of this host (default streams-host-<pipeline>)");
  run_cmd
      ->add_option("--error-policy", run.error_policy,
                   "fail or skip-and-count: overrides the source's error_policy (default fail)")
      ->check(CLI::IsMember({"fail", "skip-and-count"}));
  run_cmd->add_option("--log-level", run.log_level, "debug, info, warn or error")
      ->capture_default_str();

  streams::cli::PipelineArgs validate;
  CLI::App* validate_cmd =
      app.add_subcommand("validate", "Check a pipeline, its deployment config and its plugins");
  add_pipeline_options(validate_cmd, &validate, /*config_required=*/true);

  streams::cli::GraphArgs graph;
  CLI::App* graph_cmd = app.add_subcommand("graph", "Print a pipeline's topology with segments");
  graph_cmd->add_option("--format", graph.format, "mermaid or dot")
      ->check(CLI::IsMember({"mermaid", "dot"}))
      ->capture_default_str();
  graph_cmd->add_option("--config", graph.config_path, "Deployment config (YAML), for segments")
      ->check(CLI::ExistingFile);
  graph_cmd->add_option("PIPELINE", graph.pipeline_path, "Pipeline file (YAML)")
      ->required()
      ->check(CLI::ExistingFile);

  streams::devbroker::DevBrokerOptions broker;
  std::vector<std::string> topics;
  CLI::App* broker_cmd = app.add_subcommand(
      "dev-broker",
      "Serve the Kafka protocol on 127.0.0.1 from librdkafka's mock cluster (SIGUSR1: brokers\n"
      "down, SIGUSR2: up)");
  broker_cmd->add_option("--port", broker.port, "Port of the first broker")
      ->required()
      ->check(CLI::Range(1, 65535));
  broker_cmd->add_option("--brokers", broker.brokers, "Number of brokers (ports PORT..PORT+N-1)")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  broker_cmd->add_option("--topic", topics,
                         "Create topic NAME[:PARTITIONS] (default 4 partitions)");

  CLI11_PARSE(app, argc, argv);
  install_signal_handlers();

  if (*run_cmd) return streams::cli::run_command(run, g_stop);
  if (*validate_cmd) return streams::cli::validate_command(validate);
  if (*graph_cmd) return streams::cli::graph_command(graph);
  for (const auto& t : topics) {
    std::pair<std::string, int> topic;
    std::string error;
    if (!streams::devbroker::parse_topic(t, &topic, &error)) {
      std::fprintf(stderr, "error: %s\n", error.c_str());
      return 2;
    }
    broker.topics.push_back(topic);
  }
  return streams::devbroker::run_dev_broker(broker, g_stop);
}
