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
  for (auto [cmd, args] : {std::pair{reload_cmd, reload.get()}, std::pair{status_cmd, status.get()},
                           std::pair{top_cmd, &top->admin}}) {
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

  return {{reload_cmd, [reload](const std::atomic<bool>&) { return reload_command(*reload); }},
          {status_cmd, [status](const std::atomic<bool>&) { return status_command(*status); }},
          {top_cmd, [top](const std::atomic<bool>& stop) { return top_command(*top, stop); }}};
}

}  // namespace streams::cli
