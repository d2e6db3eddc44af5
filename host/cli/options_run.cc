#include "cli/options.h"

#include <memory>

#include "common/crash_guard.h"

namespace streams::cli {

Subcommand add_run(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  RunArgs& run = *args;
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
      ->add_option("--not-ready-error-ms", run.not_ready_error_ms,
                   "Not ready this long in a row (a sink's brokers unreachable, no commit, a "
                   "stall; not joining the group or a restore): one ERROR line, and an event "
                   "to Sentry when configured (0: never)")
      ->check(CLI::NonNegativeNumber)
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
                      "$STREAMS_STATE_DIR, else /var/tmp/streams-host); given (or the "
                      "variable set), stateful steps keep their stores in stores/PIPELINE "
                      "under it unless the deployment sets state_dir (else ./state/PIPELINE)");
  run_cmd->add_flag("--paused", run.paused,
                    "Start paused: join the group and read nothing until resumed (streams-host "
                    "resume, or POST /resume)");
  run_cmd->add_flag("--allow-dropped-state", run.allow_dropped_state,
                    "Start and reload although the state stores hold state of steps the "
                    "pipeline no longer keeps (removed or renamed); that state is left unused");
  run_cmd
      ->add_option("--admin-address", run.admin_address,
                   "Address of the admin endpoint; other than loopback needs a token")
      ->capture_default_str();
  run_cmd->add_option("--admin-token-file", run.admin_token_file,
                      "Requests must carry 'Authorization: Bearer' the file's first line, read "
                      "again every 2 s and at each reload (default: $STREAMS_ADMIN_TOKEN, if set)");
  run_cmd->add_flag("--metrics-without-token", run.metrics_without_token,
                    "GET /metrics answers without the admin token (as /livez and /readyz do), "
                    "for a Prometheus that scrapes pods; every other request still needs it");
  run_cmd->add_flag("!--no-watch", run.watch,
                    "Do not reload when the pipeline, the deployment config or a plugin "
                    "file changes");

  return {run_cmd, [args](const std::atomic<bool>& stop) {
            const int status = run_command(*args, stop);
            crash::allow_exit();  // the host's own exit, not a plugin's
            return status;
          }};
}

}  // namespace streams::cli
