#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>

#include "cli/options.h"
#include "devbroker/dev_broker.h"

namespace streams::cli {

void add_pipeline_options(CLI::App* cmd, PipelineArgs* args, bool config_required) {
  auto* config = cmd->add_option("--config", args->config_path, "Deployment config (YAML)")
                     ->check(CLI::ExistingFile);
  if (config_required) config->required();
  cmd->add_option("-s,--segment-id", args->segment_id,
                  "Run this segment of the deployment alone, linked to the others by topics "
                  "(default: $SEGMENT_ID, else every segment in this process)")
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

Subcommand add_validate(CLI::App& app) {
  auto validate = std::make_shared<ValidateArgs>();
  CLI::App* validate_cmd =
      app.add_subcommand("validate", "Check a pipeline, its deployment config and its plugins");
  add_pipeline_options(validate_cmd, &validate->pipeline, /*config_required=*/true);
  validate_cmd->add_flag("--topics", validate->topics,
                         "Also look up the topics it reads and writes on their brokers (nothing "
                         "is created): exit 1 when one the host needs is missing or unfit");
  validate_cmd->add_option("--timeout-ms", validate->timeout_ms, "For the brokers' answers")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  return {validate_cmd,
          [validate](const std::atomic<bool>&) { return validate_command(*validate); }};
}

Subcommand add_graph(CLI::App& app) {
  auto args = std::make_shared<GraphArgs>();
  GraphArgs& graph = *args;
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

  return {graph_cmd, [args](const std::atomic<bool>&) { return graph_command(*args); }};
}

Subcommand add_render(CLI::App& app) {
  auto args = std::make_shared<RenderArgs>();
  RenderArgs& r = *args;
  CLI::App* render_cmd =
      app.add_subcommand("render", "Render what a cluster needs to run a pipeline");
  render_cmd->require_subcommand(1);
  CLI::App* k8s = render_cmd->add_subcommand(
      "k8s",
      "Kubernetes objects: per segment a Deployment (StatefulSet with state), a "
      "PodDisruptionBudget and a Service; a ConfigMap with the files");
  k8s->add_option("--config", r.config_path, "Deployment config (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  k8s->add_option("--image", r.image, "Container image (packaging/Dockerfile)")->required();
  k8s->add_option("--namespace", r.ns, "Namespace of the objects (default: none set)");
  k8s->add_option("--replicas", r.replicas, "Pods per segment (one consumer group)")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  k8s->add_option("--admin-port", r.admin_port, "The pods' admin port (probes, /metrics)")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  k8s->add_option("--token-secret", r.token_secret,
                  "Secret whose key `token` is the admin token (default "
                  "streams-PIPELINE-admin-token)");
  k8s->add_flag("--metrics-need-token", r.metrics_need_token,
                "GET /metrics needs the admin token too (by default it answers without one, and "
                "the pods carry the prometheus.io/scrape annotations)");
  k8s->add_option("--plugins-claim", r.plugins_claim,
                  "PersistentVolumeClaim of the plugins directory (default "
                  "streams-PIPELINE-plugins)");
  k8s->add_option("--state-size", r.state_size, "A stateful segment's volume per pod")
      ->capture_default_str();
  k8s->add_option("--env", r.env,
                  "NAME=VALUE in the pods' environment (each ${envvar:NAME} of the config)");
  k8s->add_option("--env-secret", r.secret_env,
                  "NAME=SECRET:KEY: NAME in the pods' environment from key KEY of Secret SECRET "
                  "(a password the config takes as ${envvar:NAME})");
  k8s->add_option("--file", r.files, "Another file for the ConfigMap (a schema, ...)")
      ->check(CLI::ExistingFile);
  k8s->add_option("PIPELINE", r.pipeline_path,
                  "Pipeline file (YAML, or Python defining `pipeline`)")
      ->required()
      ->check(CLI::ExistingFile);
  return {k8s, [args](const std::atomic<bool>&) { return render_k8s_command(*args); }};
}

// What names a DLQ, and the filters: shared by `dlq replay` and `dlq show`.
void add_dlq_options(CLI::App* cmd, DlqArgs& a, const char* group_help) {
  cmd->add_option("--config", a.config_path, "Deployment config naming the dlq")
      ->check(CLI::ExistingFile);
  cmd->add_option("--source", a.source, "The source whose dlq (when several have one)");
  cmd->add_option("--segment-id", a.segment_id, "Segment of the deployment")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--brokers", a.brokers, "Without --config: the DLQ's brokers");
  cmd->add_option("--dlq-topic", a.dlq_topic, "Without --config: the DLQ topic");
  cmd->add_option("--kind", a.kinds,
                  "Only records of this error kind (invalid_input, processing, exception, "
                  "contract, sink_rejected, crash); repeatable");
  cmd->add_option("--step", a.steps, "Only records that failed in this step; repeatable");
  cmd->add_option("--group", a.group, group_help);
  cmd->add_option("-X,--setting", a.settings,
                  "KEY=VALUE: a librdkafka setting for the tool's clients, after the config's "
                  "(as kcat's -X; e.g. -X security.protocol=SASL_SSL); repeatable");
  cmd->add_option("--timeout-ms", a.timeout_ms, "For metadata, reads and deliveries")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

Subcommand add_dlq(CLI::App& app) {
  auto args = std::make_shared<DlqArgs>();
  DlqArgs& a = *args;
  CLI::App* dlq_cmd = app.add_subcommand("dlq", "Work with a pipeline's dead-letter queue");
  dlq_cmd->require_subcommand(1);
  CLI::App* replay_cmd = dlq_cmd->add_subcommand(
      "replay",
      "Re-send dead-letter records to their original topic without their error headers.\n"
      "With --group, progress is committed, so a later run sends only newer records.");
  add_dlq_options(replay_cmd, a,
                  "Keep the progress in this consumer group: a later run reads only newer "
                  "records (default: read the whole DLQ each time)");
  replay_cmd->add_option("--target-brokers", a.target_brokers,
                         "Brokers to replay to (default: the source's)");
  replay_cmd->add_option("--to", a.to_topic, "Replay to this topic instead of the original");
  replay_cmd->add_option("--target-setting", a.target_settings,
                         "KEY=VALUE: a librdkafka setting for the producer only, after -X (a "
                         "target cluster with other credentials); repeatable");
  replay_cmd->add_flag("--include-derived", a.include_derived,
                       "Also replay batch and window outputs (not inputs of the pipeline)");
  CLI::App* show_cmd = dlq_cmd->add_subcommand(
      "show",
      "Print the dead-letter records, one a line: where each came from, the step and kind of\n"
      "its failure, the error and the start of its value; then a count by step and kind.");
  add_dlq_options(show_cmd, a,
                  "Only the records this replay group has not replayed yet (default: all)");
  show_cmd->add_option("--limit", a.limit, "Show at most N records (all are counted; 0: all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  show_cmd
      ->add_option("--format", a.format,
                   "text, or json: one JSON object a record (error headers, key, value, "
                   "headers), the count on stderr")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  return {dlq_cmd, [args, show_cmd](const std::atomic<bool>& stop) {
            return show_cmd->parsed() ? dlq_show_command(*args, stop)
                                      : dlq_replay_command(*args, stop);
          }};
}

Subcommand add_offsets(CLI::App& app) {
  auto args = std::make_shared<OffsetsArgs>();
  OffsetsArgs& a = *args;
  CLI::App* cmd = app.add_subcommand(
      "offsets", "A pipeline's consumer groups: where they are, and moving them (reprocess, skip)");
  cmd->require_subcommand(1);
  CLI::App* show = cmd->add_subcommand(
      "show", "Each segment's group and topic: committed offset, start, end and lag a partition");
  CLI::App* reset = cmd->add_subcommand(
      "reset",
      "Move a segment's committed offsets (a dry run that prints the plan unless --execute).\n"
      "The broker refuses the move while the group has members: stop the segment's hosts first.");
  for (CLI::App* c : {show, reset}) {
    c->add_option("--config", a.config_path, "Deployment config (YAML)")
        ->required()
        ->check(CLI::ExistingFile);
    c->add_option("-s,--segment-id", a.segment_id,
                  c == show ? "Only this segment (default: every one)"
                            : "The segment whose group moves (required with several)")
        ->check(CLI::NonNegativeNumber);
    c->add_option("--partition", a.partitions, "Only this partition; repeatable")
        ->check(CLI::Range(0, std::numeric_limits<int32_t>::max()));
    c->add_option("--format", a.format, "text, or json: one JSON object")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    c->add_option("-X,--setting", a.settings,
                  "KEY=VALUE: a librdkafka setting for the tool's client, after the config's "
                  "connection settings; repeatable");
    c->add_option("--timeout-ms", a.timeout_ms, "For metadata, offsets and reads")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    c->add_option("PIPELINE", a.pipeline_path,
                  "Pipeline file (YAML, or Python defining `pipeline`)")
        ->required()
        ->check(CLI::ExistingFile);
  }
  auto* to = reset->add_option_group("target", "Where to move (exactly one)");
  to->add_flag("--to-earliest", a.to_earliest, "The first record on the broker");
  to->add_flag("--to-latest", a.to_latest, "After the last record (skip the backlog)");
  to->add_option("--to-offset", a.to_offset, "This offset (within the partition's records)")
      ->check(CLI::Range(int64_t{0}, std::numeric_limits<int64_t>::max()));
  to->add_option("--shift-by", a.shift_by,
                 "This many records from the committed offset (negative: back)");
  to->add_option("--to-datetime", a.to_datetime,
                 "The first record at or after this time: ISO 8601 (2026-12-05T06:00:00Z, "
                 "+01:00; no zone: UTC) or milliseconds since the epoch");
  to->add_option("--by-duration", a.by_duration,
                 "The first record at or after this long ago: 90s, 15m, 2h, 1d");
  to->require_option(1);
  reset->add_flag("--execute", a.execute, "Commit the new offsets (default: print the plan)");
  reset->add_flag("--force", a.force,
                  "Move a segment with state back anyway (its state keeps what the inputs "
                  "read again made: they are applied twice)");
  return {cmd, [args, reset](const std::atomic<bool>&) {
            args->reset = reset->parsed();
            return offsets_command(*args);
          }};
}

Subcommand add_dev_broker(CLI::App& app) {
  auto args = std::make_shared<devbroker::DevBrokerOptions>();
  auto topics = std::make_shared<std::vector<std::string>>();
  devbroker::DevBrokerOptions& broker = *args;
  CLI::App* broker_cmd = app.add_subcommand(
      "dev-broker",
      "Serve the Kafka protocol on 127.0.0.1 from librdkafka's mock cluster (SIGUSR1: brokers\n"
      "down, SIGUSR2: up, SIGHUP: the next produce, fetch and commit requests fail, SIGRTMIN:\n"
      "the --unknown-topic topics are created)");
  broker_cmd->add_option("--port", broker.port, "Port of the first broker")
      ->required()
      ->check(CLI::Range(1, 65535));
  broker_cmd->add_option("--brokers", broker.brokers, "Number of brokers (ports PORT..PORT+N-1)")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  broker_cmd->add_option("--topic", *topics,
                         "Create topic NAME[:PARTITIONS] (default 4 partitions)");
  broker_cmd
      ->add_option("--reject-produce", broker.reject_produce,
                   "The first N produce requests fail with INVALID_RECORD (permanent)")
      ->check(CLI::NonNegativeNumber);
  broker_cmd->add_option(
      "--unknown-topic", broker.unknown_topics,
      "Answer metadata for this topic with UNKNOWN_TOPIC_OR_PART (a topic "
      "nobody created, where the brokers do not create topics on use) until SIGRTMIN");

  return {broker_cmd, [args, topics](const std::atomic<bool>& stop) {
            for (const auto& t : *topics) {
              std::pair<std::string, int> topic;
              std::string error;
              if (!devbroker::parse_topic(t, &topic, &error)) {
                std::fprintf(stderr, "error: %s\n", error.c_str());
                return 2;
              }
              args->topics.push_back(topic);
            }
            return devbroker::run_dev_broker(*args, stop);
          }};
}

}  // namespace streams::cli
