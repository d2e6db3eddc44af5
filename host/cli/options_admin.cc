#include <memory>

#include "cli/options.h"
#include "cli/top.h"

namespace streams::cli {

std::vector<Subcommand> add_admin_clients(CLI::App& app) {
  auto reload = std::make_shared<AdminArgs>();
  CLI::App* reload_cmd = app.add_subcommand(
      "reload",
      "Reload a running host's pipeline, config and plugins and print the outcome (exit 0:\n"
      "applied or nothing changed, 1: refused, the old generation runs on)");
  auto pause = std::make_shared<PauseArgs>();
  pause->admin.timeout_ms = 60000;
  CLI::App* pause_cmd = app.add_subcommand(
      "pause",
      "Pause a running host (--admin-port), or every host of a segment, those started later\n"
      "too (--config and PIPELINE: through its control topic, streams-control unless the\n"
      "source's control_topic names another, on its brokers): each partition stops at its\n"
      "next record, in its group; wait until what is in flight is committed, within\n"
      "--timeout-ms (exit 0: paused and drained, 1: not drained in time)");
  pause_cmd->add_flag("--no-wait", pause->no_wait, "Return once paused, without waiting to drain");
  auto resume = std::make_shared<ResumeArgs>();
  CLI::App* resume_cmd = app.add_subcommand(
      "resume",
      "Resume a paused host (--admin-port) or segment (--config and PIPELINE): each partition\n"
      "reads on from where it stopped");
  for (auto [cmd, segment] :
       {std::pair{pause_cmd, &pause->segment}, std::pair{resume_cmd, &resume->segment}}) {
    cmd->add_option("--config", segment->config_path,
                    "Deployment config (YAML): pause or resume a segment, not one host")
        ->check(CLI::ExistingFile);
    cmd->add_option("-s,--segment-id", segment->segment_id,
                    "With --config: the segment (required with several)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("-X,--setting", segment->settings,
                    "With --config: KEY=VALUE, a librdkafka setting for the tool's clients, "
                    "after the config's connection settings; repeatable");
    cmd->add_option("PIPELINE", segment->pipeline_path,
                    "With --config: the pipeline file (YAML, or Python defining `pipeline`)")
        ->check(CLI::ExistingFile);
  }
  auto level = std::make_shared<LogLevelArgs>();
  CLI::App* level_cmd = app.add_subcommand(
      "log-level", "Print or change a running host's log level (JSON), for a while with --for");
  level_cmd->add_option("level", level->level, "debug, info, warn or error (none: print it)");
  level_cmd->add_option("--for", level->for_duration,
                        "Then back to the level the host started with: 90s, 15m, 2h");
  auto status = std::make_shared<AdminArgs>();
  CLI::App* status_cmd = app.add_subcommand("status", "Print a running host's status (JSON)");
  auto top = std::make_shared<TopArgs>();
  CLI::App* top_cmd = app.add_subcommand(
      "top", "A live view of a running host: throughput per step, lag, errors, generation");
  top_cmd->add_option("--interval-ms", top->interval_ms, "Refresh period")
      ->check(CLI::Range(100, 3600000))
      ->capture_default_str();
  top_cmd->add_option("--frames", top->frames, "Stop after this many views (0: never)")
      ->check(CLI::NonNegativeNumber);
  auto get = std::make_shared<StateArgs>();
  auto scan = std::make_shared<StateArgs>();
  scan->scan = true;
  CLI::App* state_cmd = app.add_subcommand(
      "state",
      "Read a stateful step's state (JSON): on a running host (--admin-port), or in its store\n"
      "on disk (--config and --pipeline; as of the store's last checkpoint)");
  state_cmd->require_subcommand(1);
  CLI::App* get_cmd = state_cmd->add_subcommand("get", "One key (exit 1 when absent)");
  CLI::App* scan_cmd = state_cmd->add_subcommand("scan", "Keys with a prefix, in byte order");
  for (auto [cmd, args] : {std::pair{get_cmd, get.get()}, std::pair{scan_cmd, scan.get()}}) {
    cmd->add_option("step", args->step, "The step's name")->required();
    cmd->add_option("partition", args->partition, "The source partition")
        ->required()
        ->check(CLI::NonNegativeNumber);
  }
  for (auto [cmd, args] : {std::pair{get_cmd, get.get()}, std::pair{scan_cmd, scan.get()}}) {
    CLI::Option* config =
        cmd->add_option("--config", args->config,
                        "Deployment config (YAML): read the store on disk, not a running host")
            ->check(CLI::ExistingFile);
    cmd->add_option("--pipeline", args->pipeline, "Pipeline file (with --config)")
        ->check(CLI::ExistingFile)
        ->needs(config);
    config->needs(cmd->get_option("--pipeline"));
    cmd->add_option("-s,--segment-id", args->segment_id,
                    "The segment whose store to read (required with several)")
        ->check(CLI::NonNegativeNumber)
        ->needs(config);
    cmd->add_option("--state-dir", args->state_dir,
                    "The hosts' --state-dir (default: $STREAMS_STATE_DIR); the deployment's "
                    "state_dir wins")
        ->needs(config);
  }
  get_cmd->add_option("key", get->key, "The key")->required();
  scan_cmd->add_option("--prefix", scan->key, "Only keys starting with this");
  scan_cmd->add_option("--limit", scan->limit, "At most this many entries")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  for (auto [cmd, args] :
       {std::pair{reload_cmd, reload.get()}, std::pair{status_cmd, status.get()},
        std::pair{pause_cmd, &pause->admin}, std::pair{resume_cmd, &resume->admin},
        std::pair{level_cmd, &level->admin}, std::pair{top_cmd, &top->admin},
        std::pair{get_cmd, &get->admin}, std::pair{scan_cmd, &scan->admin}}) {
    CLI::Option* port = cmd->add_option("--admin-port", args->admin_port, "The host's --admin-port")
                            ->check(CLI::Range(1, 65535));
    if (cmd == pause_cmd || cmd == resume_cmd || cmd == get_cmd || cmd == scan_cmd) {
      port->excludes(cmd->get_option("--config"));
    } else {
      port->required();
    }
    cmd->add_option("--admin-address", args->admin_address, "The host's admin address")
        ->capture_default_str();
    cmd->add_option("--admin-token-file", args->admin_token_file,
                    "The token's file (default: $STREAMS_ADMIN_TOKEN, if set)");
    cmd->add_option("--timeout-ms", args->timeout_ms, "How long to wait for the answer")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
  }

  return {{reload_cmd, [reload](const std::atomic<bool>&) { return reload_command(*reload); }},
          {status_cmd, [status](const std::atomic<bool>&) { return status_command(*status); }},
          {pause_cmd, [pause](const std::atomic<bool>&) { return pause_command(*pause); }},
          {resume_cmd, [resume](const std::atomic<bool>&) { return resume_command(*resume); }},
          {level_cmd, [level](const std::atomic<bool>&) { return log_level_command(*level); }},
          {top_cmd, [top](const std::atomic<bool>& stop) { return top_command(*top, stop); }},
          {get_cmd, [get](const std::atomic<bool>&) { return state_command(*get); }},
          {scan_cmd, [scan](const std::atomic<bool>&) { return state_command(*scan); }}};
}

}  // namespace streams::cli
