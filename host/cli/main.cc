// streams-host: command-line entry point. Parses arguments (CLI11), installs
// signal handlers, and dispatches to the subcommands in commands.h.
#include <unistd.h>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/top.h"
#include "common/crash_guard.h"
#include "common/edit_distance.h"
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
  // A file size limit (ulimit -f) fails the write (EFBIG) instead of
  // killing the process: a file sink then stops cleanly, uncommitted.
  signal(SIGXFSZ, SIG_IGN);
}

void add_pipeline_options(CLI::App* cmd, streams::cli::PipelineArgs* args, bool config_required) {
  auto* config = cmd->add_option("--config", args->config_path, "Deployment config (YAML)")
                     ->check(CLI::ExistingFile);
  if (config_required) config->required();
  cmd->add_option("-s,--segment-id", args->segment_id,
                  "Segment of the deployment to run (default: $SEGMENT_ID, else 0)")
      ->envname("SEGMENT_ID")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--plugins-dir", args->plugins_dir,
                  "Directory of plugin .so files (default: the deployment's plugins_dir, "
                  "else ./plugins)");
  cmd->add_flag("--allow-plugins-outside-dir", args->allow_plugins_outside_dir,
                "Load plugin files that resolve outside the plugins directory (symlinks)");
  cmd->add_flag("--allow-writable-plugins", args->allow_writable_plugins,
                "Load plugin files, and from directories, that group or others may write");
  cmd->add_option("PIPELINE", args->pipeline_path,
                  "Pipeline file (YAML, or Python defining `pipeline`)")
      ->required()
      ->check(CLI::ExistingFile);
}

// "; did you mean 'X'?" for the nearest of `names` to `word`, if near enough.
std::string suggestion(const std::string& word, const std::vector<std::string>& names) {
  const std::string* best = nullptr;
  size_t best_distance = 0;
  for (const auto& name : names) {
    const size_t d = streams::edit_distance(word, name);
    if (!best || d < best_distance) best = &name, best_distance = d;
  }
  if (!best || best_distance > std::max<size_t>(2, word.size() / 3)) return "";
  return "; did you mean '" + *best + "'?";
}

// The subcommand being parsed (the deepest one given), or `app`.
const CLI::App* innermost(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) return innermost(*sub);
  return &app;
}

// A usage error, said the way a user needs it (the command or option they
// mistyped, and the nearest that exists); exit status 2.
int usage_error(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  const CLI::App* cmd = innermost(app);
  std::vector<std::string> commands;
  for (const CLI::App* sub : cmd->get_subcommands({})) commands.push_back(sub->get_name());
  if (!commands.empty()) {  // a command with commands of its own: which one was meant?
    int at = 1;             // the argument after `cmd`'s name
    while (cmd != &app && at < argc && argv[at - 1] != cmd->get_name()) ++at;
    std::string all;
    for (const auto& c : commands) all += (all.empty() ? "" : ", ") + c;
    const std::string where = cmd == &app ? "" : " for '" + cmd->get_name() + "'";
    if (at >= argc || argv[at][0] == '-') {
      std::fprintf(stderr, "error: a command is required%s (commands: %s; see --help)\n",
                   where.c_str(), all.c_str());
    } else {
      std::fprintf(stderr, "error: unknown command '%s'%s%s (commands: %s; see --help)\n", argv[at],
                   where.c_str(), suggestion(argv[at], commands).c_str(), all.c_str());
    }
    return 2;
  }
  std::vector<std::string> options;
  for (const CLI::Option* o : cmd->get_options()) {
    for (const auto& name : o->get_lnames()) options.push_back("--" + name);
  }
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) continue;
    const std::string name = arg.substr(0, arg.find('='));
    if (std::find(options.begin(), options.end(), name) != options.end()) continue;
    std::fprintf(stderr, "error: unknown option '%s' for '%s'%s (see %s --help)\n", name.c_str(),
                 cmd->get_name().c_str(), suggestion(name, options).c_str(),
                 cmd->get_name().c_str());
    return 2;
  }
  std::fprintf(stderr, "error: %s (see --help)\n", e.what());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"streams-host: runs streaming pipelines of plugin transforms over Kafka"};
  app.require_subcommand(1);
  app.set_version_flag(
      "--version", [] { return streams::cli::version_text(); },
      "Print the version of streams-host, its plugin ABI and librdkafka");
  CLI::App* version_cmd = app.add_subcommand("version", "Print the versions (as --version)");

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
  run_cmd->add_option("-n,--name", run.pipeline.pipeline_name,
                      "Pipeline name, as the original's runner: the metrics label `pipeline` and "
                      "the logs' (default: the pipeline file's name)");
  run_cmd->add_option("--client-id", run.client_id,
                      "Kafka client id of this host (default streams-host-<pipeline>)");
  run_cmd
      ->add_option("-a,--adapter", run.adapter,
                   "The original's runtime choice; accepted: this host has one runtime")
      ->check(CLI::IsMember({"arroyo", "rust_arroyo"}));
  run_cmd
      ->add_option("--error-policy", run.error_policy,
                   "fail or skip-and-count: overrides the source's error_policy (default fail)")
      ->check(CLI::IsMember({"fail", "skip-and-count"}));
  run_cmd
      ->add_option("-l,--log-level", run.log_level,
                   "debug, info, warn or error (any case, as the original's INFO)")
      ->capture_default_str();
  run_cmd->add_option("--log-format", run.log_format, "text, or json: one JSON object a line")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  run_cmd
      ->add_option("--admin-port", run.admin_port,
                   "Serve GET /status and POST /reload on 127.0.0.1:PORT (0: any free port)")
      ->check(CLI::Range(0, 65535));
  run_cmd
      ->add_option("--liveness-timeout-ms", run.liveness_timeout_ms,
                   "GET /livez fails once the processing loop has not turned for this long")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  run_cmd
      ->add_option("--readiness-commit-age-ms", run.readiness_commit_age_ms,
                   "GET /readyz fails once no commit cycle went through for this long")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  run_cmd
      ->add_option("--reload-timeout-ms", run.reload_timeout_ms,
                   "A reload that has not taken effect by then is refused (a step stuck in "
                   "create or process); a consumer restart may take 2 x drain_timeout_ms more")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  run_cmd->add_option("--healthcheck-file", run.healthcheck_file,
                      "Touch this file (at most once a second) while the processing loop turns");
  run_cmd->add_option("--state-dir", run.state_dir,
                      "Where the crash journal lives, one file per consumer group (default: "
                      "$STREAMS_STATE_DIR, else /var/tmp/streams-host)");
  run_cmd
      ->add_option("--admin-address", run.admin_address,
                   "Address of the admin endpoint; other than loopback needs a token")
      ->capture_default_str();
  run_cmd->add_option("--admin-token-file", run.admin_token_file,
                      "Requests must carry 'Authorization: Bearer' the file's first line "
                      "(default: $STREAMS_ADMIN_TOKEN, if set)");
  run_cmd->add_flag("!--no-watch", run.watch,
                    "Do not reload when the pipeline, the deployment config or a plugin "
                    "file changes");

  streams::cli::AdminArgs reload;
  CLI::App* reload_cmd = app.add_subcommand(
      "reload",
      "Reload a running host's pipeline, config and plugins and print the outcome (exit 0:\n"
      "applied or nothing changed, 1: refused, the old generation runs on)");
  streams::cli::AdminArgs status;
  CLI::App* status_cmd = app.add_subcommand("status", "Print a running host's status (JSON)");
  streams::cli::TopArgs top;
  CLI::App* top_cmd = app.add_subcommand(
      "top", "A live view of a running host: throughput per step, lag, errors, generation");
  top_cmd->add_option("--interval-ms", top.interval_ms, "Refresh period")
      ->check(CLI::Range(100, 3600000))
      ->capture_default_str();
  top_cmd->add_option("--frames", top.frames, "Stop after this many views (0: never)")
      ->check(CLI::NonNegativeNumber);
  for (auto [cmd, args] : {std::pair{reload_cmd, &reload}, std::pair{status_cmd, &status},
                           std::pair{top_cmd, &top.admin}}) {
    cmd->add_option("--admin-port", args->admin_port, "The host's --admin-port")
        ->required()
        ->check(CLI::Range(1, 65535));
    cmd->add_option("--admin-address", args->admin_address, "The host's admin address")
        ->capture_default_str();
    cmd->add_option("--admin-token-file", args->admin_token_file,
                    "The token's file (default: $STREAMS_ADMIN_TOKEN, if set)");
    cmd->add_option("--timeout-ms", args->timeout_ms, "How long to wait for the answer")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
  }

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
  graph_cmd
      ->add_option("PIPELINE", graph.pipeline_path,
                   "Pipeline file (YAML, or Python defining `pipeline`)")
      ->required()
      ->check(CLI::ExistingFile);

  streams::cli::DlqReplayArgs replay;
  CLI::App* dlq_cmd = app.add_subcommand("dlq", "Work with a pipeline's dead-letter queue");
  dlq_cmd->require_subcommand(1);
  CLI::App* replay_cmd = dlq_cmd->add_subcommand(
      "replay",
      "Re-send dead-letter records to their original topic without their error headers.\n"
      "Progress is committed by a consumer group, so a second run sends only newer records.");
  replay_cmd->add_option("--config", replay.config_path, "Deployment config naming the dlq")
      ->check(CLI::ExistingFile);
  replay_cmd->add_option("--source", replay.source, "The source whose dlq to replay");
  replay_cmd->add_option("--segment-id", replay.segment_id, "Segment of the deployment")
      ->check(CLI::NonNegativeNumber);
  replay_cmd->add_option("--brokers", replay.brokers, "Without --config: the DLQ's brokers");
  replay_cmd->add_option("--dlq-topic", replay.dlq_topic, "Without --config: the DLQ topic");
  replay_cmd->add_option("--target-brokers", replay.target_brokers,
                         "Brokers to replay to (default: the source's)");
  replay_cmd->add_option("--to", replay.to_topic, "Replay to this topic instead of the original");
  replay_cmd->add_option("--kind", replay.kinds,
                         "Only records of this error kind (invalid_input, processing, exception, "
                         "contract, sink_rejected); repeatable");
  replay_cmd->add_option("--step", replay.steps,
                         "Only records that failed in this step; repeatable");
  replay_cmd->add_option("--group", replay.group,
                         "Keep the progress in this consumer group: a later run reads only newer "
                         "records (default: read the whole DLQ each time)");
  replay_cmd->add_flag("--include-derived", replay.include_derived,
                       "Also replay batch and window outputs (not inputs of the pipeline)");
  replay_cmd->add_option("--timeout-ms", replay.timeout_ms, "For metadata, reads and deliveries")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  streams::devbroker::DevBrokerOptions broker;
  std::vector<std::string> topics;
  CLI::App* broker_cmd = app.add_subcommand(
      "dev-broker",
      "Serve the Kafka protocol on 127.0.0.1 from librdkafka's mock cluster (SIGUSR1: brokers\n"
      "down, SIGUSR2: up, SIGHUP: the next produce, fetch and commit requests fail)");
  broker_cmd->add_option("--port", broker.port, "Port of the first broker")
      ->required()
      ->check(CLI::Range(1, 65535));
  broker_cmd->add_option("--brokers", broker.brokers, "Number of brokers (ports PORT..PORT+N-1)")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  broker_cmd->add_option("--topic", topics,
                         "Create topic NAME[:PARTITIONS] (default 4 partitions)");
  broker_cmd
      ->add_option("--reject-produce", broker.reject_produce,
                   "The first N produce requests fail with INVALID_RECORD (permanent)")
      ->check(CLI::NonNegativeNumber);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e, argc, argv);
  }
  install_signal_handlers();
  if (*version_cmd) {
    std::fputs((streams::cli::version_text() + "\n").c_str(), stdout);
    return 0;
  }

  if (*run_cmd) {
    const int status = streams::cli::run_command(run, g_stop);
    streams::crash::allow_exit();  // the host's own exit, not a plugin's
    return status;
  }
  if (*reload_cmd) return streams::cli::reload_command(reload);
  if (*status_cmd) return streams::cli::status_command(status);
  if (*top_cmd) return streams::cli::top_command(top, g_stop);
  if (*validate_cmd) return streams::cli::validate_command(validate);
  if (*graph_cmd) return streams::cli::graph_command(graph);
  if (*dlq_cmd) return streams::cli::dlq_replay_command(replay, g_stop);
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

#if defined(__SANITIZE_ADDRESS__)
// LeakSanitizer builds: the embedded Python interpreter (the bridge plugin)
// is never finalized, by design, so what libpython allocated is in use at
// exit rather than leaked. Leaks in our own code are still reported.
extern "C" const char* __lsan_default_suppressions() { return "leak:libpython3\n"; }
#endif
