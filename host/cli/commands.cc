#include "cli/commands.h"

#include <cstdio>
#include <fstream>
#include <memory>

#include <librdkafka/rdkafka.h>
#include <streams/plugin_abi.h>

#include "admin/admin_server.h"
#include "admin/state_request.h"
#include "cli/admin_client.h"
#include "cli/loading.h"
#include "common/log.h"
#include "common/version.h"
#include "config/connection_settings.h"
#include "config/deployment_config.h"
#include "config/step_deployment.h"
#include "config/topology_graph.h"
#include "kafka/dlq_replay.h"
#include "kafka/dlq_show.h"
#include "kafka/kafka_conf.h"
#include "kafka/topic_check.h"
#include "plugin/plugin_registry.h"

namespace streams::cli {

std::string version_text() {
  return std::string("streams-host ") + STREAMS_VERSION + " (plugin ABI " +
         std::to_string(STREAMS_ABI_MAJOR) + "." + std::to_string(STREAMS_ABI_MINOR) +
         ", librdkafka " + rd_kafka_version_str() + ")";
}

namespace {

// Fills the DLQ's brokers and topic from the deployment's source with a dlq.
bool dlq_from_config(const DlqArgs& args, kafka::ReplayOptions* o) {
  config::Diagnostics diag;
  config::DeploymentConfig d;
  const bool loaded = config::load_deployment_config(args.config_path, &d, diag);
  report(diag);
  if (!loaded) return false;
  if (static_cast<size_t>(args.segment_id) >= d.segments.size()) {
    std::fprintf(stderr, "error: %s: no segment %d\n", args.config_path.c_str(), args.segment_id);
    return false;
  }
  const config::StepDeployment* found = nullptr;
  for (const auto& [name, step] : d.segments[args.segment_id].steps_config) {
    if (step.dlq.topic.empty() || (!args.source.empty() && name != args.source)) continue;
    if (found) {
      std::fprintf(stderr, "error: %s: several sources have a dlq; choose one with --source\n",
                   args.config_path.c_str());
      return false;
    }
    found = &step;
  }
  if (!found) {
    std::fprintf(stderr, "error: %s: segment %d has no %s with a dlq\n", args.config_path.c_str(),
                 args.segment_id,
                 args.source.empty() ? "source" : ("source '" + args.source + "'").c_str());
    return false;
  }
  o->dlq_topic = found->dlq.topic;
  const bool dlq_on_source = config::dlq_on_source_brokers(*found);
  o->brokers =
      kafka::join_brokers(dlq_on_source ? found->bootstrap_servers : found->dlq.bootstrap_servers);
  // The deployment's connection settings, as the host's clients take them
  // (kafka_conf.h): the DLQ's own over the source's on the same brokers.
  if (dlq_on_source) o->dlq_settings = config::connection_settings(found->override_params);
  for (const auto& kv : config::connection_settings(found->dlq.override_params)) {
    o->dlq_settings.push_back(kv);
  }
  if (o->target_brokers.empty()) {
    o->target_brokers = kafka::join_brokers(found->bootstrap_servers);
    o->target_settings = config::connection_settings(found->override_params);
  }
  return true;
}

}  // namespace

bool admin_token(const std::string& file, std::string* token, std::string* error) {
  if (file.empty()) {
    const char* env = std::getenv("STREAMS_ADMIN_TOKEN");
    *token = env ? env : "";
    return true;
  }
  std::ifstream in(file);
  std::getline(in, *token);
  while (!token->empty() && std::isspace(static_cast<unsigned char>(token->back()))) {
    token->pop_back();
  }
  if (token->empty()) *error = "--admin-token-file " + file + ": no token in it (or unreadable)";
  return !token->empty();
}

namespace {

// `validate --topics`: a line a topic; the exit status.
int print_topics(const pipeline::Generation& g, int timeout_ms) {
  std::vector<kafka::TopicUse> uses;
  std::string error;
  if (!kafka::check_topics(g, timeout_ms, &uses, &error)) {
    print_problem(log::Level::error, error);
    return 2;
  }
  int status = 0;
  for (const kafka::TopicUse& u : uses) {
    const std::string found =
        u.partitions < 0 ? "" : std::to_string(u.partitions) + " partition(s)";
    std::printf("  %s %s on %s: %s%s%s\n", u.role.c_str(), u.topic.c_str(), u.brokers.c_str(),
                found.c_str(), !found.empty() && !u.says.empty() ? "; " : "", u.says.c_str());
    if (u.fatal) status = 1;
  }
  if (status) {
    print_problem(log::Level::error, "a topic the host needs is missing or unfit (above)");
  } else {
    std::printf("ok: the files and the %zu topic(s)\n", uses.size());
  }
  return status;
}

}  // namespace

int validate_command(const ValidateArgs& validate) {
  const PipelineArgs& args = validate.pipeline;
  config::Diagnostics diag;
  plugin::PluginRegistry registry("");
  auto generation = load(args, /*kafka=*/true, diag, registry);
  report(diag);
  if (!generation) return 2;
  std::string sinks;
  for (const auto& sink : generation->sinks) {
    const uint32_t out = sink.type->batches_out(*sink.settings);
    sinks += (sinks.empty() ? "" : ", ") + sink.name + " (" + sink.settings->target() + ", " +
             sink.type->guarantee(*sink.settings) +
             (out > 1 ? ", " + std::to_string(out) + " batches of a partition out" : "") + ")";
  }
  std::string stateful;
  for (const auto& step : generation->steps) {
    if (step.spec->state) stateful += (stateful.empty() ? "" : ", ") + step.name;
  }
  if (!stateful.empty()) stateful = "; state: " + stateful;
  const std::string& sentry = generation->deployment.sentry.envelope_url;
  const std::string errors = sentry.empty() ? "" : "; errors to Sentry: " + sentry;
  // With --topics, "ok:" is said once the topics are found fit too.
  std::printf("%s: %s: source %s (%s) -> %zu step(s) -> sinks %s%s%s\n",
              validate.topics ? "files ok" : "ok", args.pipeline_path.c_str(),
              generation->pipeline.source.name.c_str(), generation->source_topic().c_str(),
              generation->steps.size() - generation->sinks.size(), sinks.c_str(), stateful.c_str(),
              errors.c_str());
  return validate.topics ? print_topics(*generation, validate.timeout_ms) : 0;
}

// The DLQ (and replay target) that `args` name; false when they name none.
bool dlq_options(const DlqArgs& args, kafka::ReplayOptions* o) {
  o->brokers = args.brokers;
  o->dlq_topic = args.dlq_topic;
  o->target_brokers = args.target_brokers;
  o->to_topic = args.to_topic;
  o->kinds = args.kinds;
  o->steps = args.steps;
  o->group = args.group;
  o->include_derived = args.include_derived;
  o->timeout_ms = args.timeout_ms;
  if (!args.config_path.empty()) {
    if (!dlq_from_config(args, o)) return false;
  } else if (o->brokers.empty() || o->dlq_topic.empty()) {
    std::fprintf(stderr, "error: give --config, or --brokers and --dlq-topic\n");
    return false;
  }
  if (o->target_brokers.empty()) o->target_brokers = o->brokers;
  // -X for both clients after what the config gave; --target-setting last.
  return add_settings("-X", args.settings, &o->dlq_settings) &&
         add_settings("-X", args.settings, &o->target_settings) &&
         add_settings("--target-setting", args.target_settings, &o->target_settings);
}

int dlq_replay_command(const DlqArgs& args, const std::atomic<bool>& stop) {
  kafka::ReplayOptions o;
  if (!dlq_options(args, &o)) return 2;
  return kafka::replay_dead_letters(o, stop);
}

int dlq_show_command(const DlqArgs& args, const std::atomic<bool>& stop) {
  kafka::ReplayOptions o;
  if (!dlq_options(args, &o)) return 2;
  kafka::ShowOptions show;
  show.source = {o.brokers, o.dlq_topic, o.group, o.timeout_ms, o.dlq_settings, "streams-dlq"};
  show.kinds = o.kinds;
  show.steps = o.steps;
  show.limit = args.limit;
  show.json = args.format == "json";
  return kafka::show_dead_letters(show, stop);
}

int graph_command(const GraphArgs& args) {
  config::Diagnostics diag;
  config::PipelineSpec pipeline;
  config::DeploymentConfig deployment;
  bool ok = true;
  if (!args.config_path.empty()) {
    ok = config::load_deployment_config(args.config_path, &deployment, diag,
                                        /*require_env=*/false);
  }
  plugin::PluginRegistry registry("");
  ok = load_pipeline(args.pipeline_path, deployment, registry, &pipeline, diag) && ok;
  if (ok) {  // each step's entry is in the one segment that holds it
    std::map<std::string, config::StepDeployment> entries;
    for (const config::SegmentDeployment& s : deployment.segments) {
      entries.insert(s.steps_config.begin(), s.steps_config.end());
    }
    config::apply_step_deployment(pipeline, entries, diag);
  }
  report(diag);
  if (!ok) return 2;
  const auto format =
      args.format == "dot" ? config::GraphFormat::dot : config::GraphFormat::mermaid;
  std::fputs(
      config::render_graph(pipeline, args.config_path.empty() ? nullptr : &deployment, format)
          .c_str(),
      stdout);
  return 0;
}

// Sends `method` `target` to the host's admin endpoint and prints the answer.
int admin_command(const AdminArgs& args, const char* method, const char* target) {
  AdminClient client(args);
  if (!client.init()) return 2;
  const admin::Response r = client.request(method, target, args.timeout_ms);
  if (r.status == 0) {
    std::fprintf(stderr, "error: %s\n", r.body.c_str());
    return 2;
  }
  std::fputs(r.body.c_str(), stdout);
  return r.status == 200 ? 0 : 1;
}

int reload_command(const AdminArgs& args) { return admin_command(args, "POST", "/reload"); }

int status_command(const AdminArgs& args) { return admin_command(args, "GET", "/status"); }

int log_level_command(const LogLevelArgs& args) {
  if (args.level.empty() && !args.for_duration.empty()) {
    std::fprintf(stderr, "error: --for: give the LEVEL it lasts for\n");
    return 2;
  }
  const std::string target =
      args.level.empty() ? "/log-level"
                         : "/log-level/" + args.level +
                               (args.for_duration.empty() ? "" : "?for=" + args.for_duration);
  const int status = admin_command(args.admin, args.level.empty() ? "GET" : "POST", target.c_str());
  if (status != 2) std::fputc('\n', stdout);  // after the answer's body
  return status;
}

int state_command(const StateArgs& args) {
  pipeline::StateQuery q;
  q.step = args.step;
  q.partition = args.partition;
  q.scan = args.scan;
  q.key = args.key;
  q.limit = static_cast<size_t>(args.limit);
  if (!args.config.empty()) return stored_state_command(args, q);
  if (args.admin.admin_port == 0) {
    std::fprintf(stderr,
                 "error: give --admin-port (a running host) or --config and --pipeline "
                 "(the store on disk)\n");
    return 2;
  }
  const std::string target = admin::state_target(q);
  const int status = admin_command(args.admin, "GET", target.c_str());
  if (status != 2) std::fputc('\n', stdout);  // after the answer's body
  return status;
}

}  // namespace streams::cli
