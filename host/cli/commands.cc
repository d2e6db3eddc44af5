#include "cli/commands.h"

#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include <librdkafka/rdkafka.h>
#include <streams/plugin_abi.h>
#include "admin/admin_server.h"

#include "common/crash_guard.h"
#include "common/log.h"
#include "common/version.h"
#include "config/deployment_config.h"
#include "config/pipeline_config.h"
#include "config/topology_graph.h"
#include "kafka/dlq_replay.h"
#include "kafka/kafka_conf.h"
#include "kafka/kafka_runtime.h"
#include "kafka/runtime_supervisor.h"
#include "local/local_runtime.h"
#include "pipeline/crash_journal.h"
#include "pipeline/generation.h"
#include "plugin/plugin_registry.h"
#include "reload/control_plane.h"
#include "reload/reload_controller.h"

namespace streams::cli {

std::string version_text() {
  return std::string("streams-host ") + STREAMS_VERSION + " (plugin ABI " +
         std::to_string(STREAMS_ABI_MAJOR) + "." + std::to_string(STREAMS_ABI_MINOR) +
         ", librdkafka " + rd_kafka_version_str() + ")";
}

namespace {

std::string resolve_plugins_dir(const PipelineArgs& args, const config::DeploymentConfig& d) {
  if (!args.plugins_dir.empty()) return args.plugins_dir;
  if (d.plugins_dir.empty()) return "plugins";
  if (d.plugins_dir.front() == '/') return d.plugins_dir;
  const size_t slash = d.path.rfind('/');
  return slash == std::string::npos ? d.plugins_dir : d.path.substr(0, slash + 1) + d.plugins_dir;
}

// Loads the pipeline file: YAML, or a Python file defining `pipeline` with
// the DSL, run by the Python bridge of `registry` (its modules from
// python_dirs(), Parser schemas from schemas/ beside it).
bool load_pipeline(const std::string& path, const config::DeploymentConfig& deployment,
                   plugin::PluginRegistry& registry, config::PipelineSpec* out,
                   config::Diagnostics& diag) {
  if (!config::is_python_pipeline(path)) return config::load_pipeline_spec(path, out, diag);
  config::PipelineSpec located;
  located.path = path;
  const std::vector<std::string> dirs = pipeline::python_dirs(located, deployment);
  const std::string code = plugin::PythonProvider::code_hash(dirs);
  std::string text, error;
  std::vector<std::string> warnings;
  if (!registry.python().describe(path, dirs, code, dirs.back() + "/schemas", &text, &warnings,
                                  &error)) {
    diag.error(config::Location{path, 0, 0, ""}, error);
    return false;
  }
  for (const std::string& w : warnings) diag.warn(config::Location{path, 0, 0, ""}, w);
  out->python_code = code;
  return config::load_pipeline_text(path, text, out, diag);
}

// `kafka`: the generation will run on Kafka (brokers required and client
// settings checked); else locally, where the deployment file is optional.
// Plugins come from `registry`, pointed at the plugins directory.
std::shared_ptr<const pipeline::Generation> load(const PipelineArgs& args, bool kafka,
                                                 config::Diagnostics& diag,
                                                 plugin::PluginRegistry& registry) {
  config::PipelineSpec pipeline;
  config::DeploymentConfig deployment;
  bool deployment_ok = true;
  if (!args.config_path.empty()) {
    deployment_ok = config::load_deployment_config(args.config_path, &deployment, diag);
  } else {
    deployment.segments.emplace_back();
  }
  const bool pipeline_ok = load_pipeline(args.pipeline_path, deployment, registry, &pipeline, diag);
  if (!args.pipeline_name.empty()) pipeline.name = args.pipeline_name;
  if (!pipeline_ok || !deployment_ok) return nullptr;
  registry.set_dir(resolve_plugins_dir(args, deployment));
  registry.set_policy({args.allow_plugins_outside_dir, args.allow_writable_plugins});
  auto generation =
      pipeline::build_generation(std::move(pipeline), std::move(deployment),
                                 static_cast<size_t>(args.segment_id), registry, diag, kafka);
  if (generation && kafka) kafka::check_kafka_confs(*generation, diag);
  return diag.ok() ? generation : nullptr;
}

// The directory and name of `path`.
reload::WatchSpec watch_file(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path, ""};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1), ""};
}

// `python_dirs`: the directories of the pipeline's Python modules.
reload::ControlOptions control_options(const RunArgs& args, const std::string& plugins_dir,
                                       const std::vector<std::string>& python_dirs) {
  reload::ControlOptions o;
  if (args.admin_port >= 0) {
    o.admin_address = args.admin_address;
    o.admin_port = static_cast<uint16_t>(args.admin_port);
  }
  if (args.watch) {
    o.watch = {watch_file(args.pipeline.pipeline_path),
               watch_file(args.pipeline.config_path),
               {plugins_dir, "", ".so"}};
    for (const std::string& dir : python_dirs) o.watch.push_back({dir, "", ".py"});
  }
  return o;
}

config::ErrorPolicy error_policy(const RunArgs& args, const pipeline::Generation& g) {
  config::ErrorPolicy policy = g.error_policy();
  if (!args.error_policy.empty()) config::parse_error_policy(args.error_policy, &policy);
  return policy;
}

int run_local(const RunArgs& args, std::shared_ptr<const pipeline::Generation> generation,
              const std::atomic<bool>& stop) {
  local::LocalOptions options;
  options.input = args.input;
  options.json_envelopes = args.input_format == "json";
  options.error_policy = error_policy(args, *generation);
  for (const std::string& kv : args.outputs) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "error: --output %s: expected SINK=PATH\n", kv.c_str());
      return 2;
    }
    options.outputs[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return local::run_local(std::move(generation), options, stop);
}

// "error: what" on stderr, or a JSON log line with --log-format json.
void print_problem(log::Level level, const std::string& what) {
  if (log::format() == log::Format::json) return log::write(level, what);
  std::fprintf(stderr, "%s: %s\n", level == log::Level::warn ? "warning" : "error", what.c_str());
}

void report(const config::Diagnostics& diag) {
  for (const auto& w : diag.warnings()) print_problem(log::Level::warn, w);
  for (const auto& e : diag.errors()) print_problem(log::Level::error, e);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

// Fills the DLQ's brokers and topic from the deployment's source with a dlq.
bool dlq_from_config(const DlqReplayArgs& args, kafka::ReplayOptions* o) {
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
  o->brokers = join(found->dlq.bootstrap_servers.empty() ? found->bootstrap_servers
                                                         : found->dlq.bootstrap_servers);
  if (o->target_brokers.empty()) o->target_brokers = join(found->bootstrap_servers);
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

int validate_command(const PipelineArgs& args) {
  config::Diagnostics diag;
  plugin::PluginRegistry registry("");
  auto generation = load(args, /*kafka=*/true, diag, registry);
  report(diag);
  if (!generation) return 2;
  std::string sinks;
  for (const auto& sink : generation->sinks) {
    sinks += (sinks.empty() ? "" : ", ") + sink.name + " (" +
             (sink.type == config::SinkType::kafka  ? sink.topic
              : sink.type == config::SinkType::file ? sink.path
                                                    : "devnull") +
             ")";
  }
  std::printf("ok: %s: source %s (%s) -> %zu step(s) -> sinks %s\n", args.pipeline_path.c_str(),
              generation->pipeline.source.name.c_str(), generation->source_topic().c_str(),
              generation->steps.size() - generation->sinks.size(), sinks.c_str());
  return 0;
}

int dlq_replay_command(const DlqReplayArgs& args, const std::atomic<bool>& stop) {
  kafka::ReplayOptions o;
  o.brokers = args.brokers;
  o.dlq_topic = args.dlq_topic;
  o.target_brokers = args.target_brokers;
  o.to_topic = args.to_topic;
  o.kinds = args.kinds;
  o.steps = args.steps;
  o.group = args.group;
  o.include_derived = args.include_derived;
  o.timeout_ms = args.timeout_ms;
  if (!args.config_path.empty()) {
    if (!dlq_from_config(args, &o)) return 2;
  } else if (o.brokers.empty() || o.dlq_topic.empty()) {
    std::fprintf(stderr, "error: give --config, or --brokers and --dlq-topic\n");
    return 2;
  }
  if (o.target_brokers.empty()) o.target_brokers = o.brokers;
  return kafka::replay_dead_letters(o, stop);
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

// Ends the process when a stop takes longer than `bound` after it was
// asked for (a step that does not return): exit status 1, nothing more
// committed, with a line saying where the processing thread is.
class StopWatchdog {
 public:
  StopWatchdog(const std::atomic<bool>& stop, std::chrono::milliseconds bound)
      : thread_([this, &stop, bound] { watch(stop, bound); }) {}
  ~StopWatchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    woken_.notify_all();
    thread_.join();
  }

 private:
  void watch(const std::atomic<bool>& stop, std::chrono::milliseconds bound) {
    std::unique_lock<std::mutex> lock(mutex_);
    // A signal handler cannot notify a condition variable: look every 100 ms.
    while (!done_ && !stop.load()) woken_.wait_for(lock, std::chrono::milliseconds(100));
    if (woken_.wait_for(lock, bound, [this] { return done_; })) return;
    const std::string where = crash::describe_processing();
    log::error("the host did not stop within " + std::to_string(bound.count()) +
               " ms of the stop signal" +
               (where.empty() ? std::string() : "; the processing thread is " + where) +
               "; exiting without a final commit (its inputs are read again)");
    std::_Exit(1);
  }

  std::mutex mutex_;
  std::condition_variable woken_;
  bool done_ = false;
  std::thread thread_;
};

// --healthcheck-file, else the original's file when the deployment says
// adapter_config.arroyo.write_healthcheck.
std::string healthcheck_file(const RunArgs& args, const pipeline::Generation& g) {
  if (!args.healthcheck_file.empty()) return args.healthcheck_file;
  return g.deployment.write_healthcheck ? "/tmp/health.txt" : "";
}

std::string state_dir(const RunArgs& args) {
  if (!args.state_dir.empty()) return args.state_dir;
  const char* env = std::getenv("STREAMS_STATE_DIR");
  return env && *env ? env : "/var/tmp/streams-host";
}

// The crash journal of `g`'s consumer group (null, with a warning, when it
// cannot be used: quarantine is then off), its crashes counted in `metrics`,
// and the fatal-signal handlers installed to append to it.
std::unique_ptr<pipeline::CrashJournal> open_crash_journal(const RunArgs& args,
                                                           const pipeline::Generation& g,
                                                           metrics::PipelineMetrics& metrics) {
  crash::Options crash_options;
  crash_options.pipeline = g.pipeline.name.c_str();
  crash_options.json_log = log::format() == log::Format::json;
  std::string error;
  const std::string path = pipeline::crash_journal_path(state_dir(args), g.consumer_group());
  auto journal = pipeline::CrashJournal::open(path, &error);
  if (!journal) {
    log::warn("poison-pill quarantine is off: " + error + " (see --state-dir)");
  } else {
    crash_options.journal_fd = journal->fd();
    crash_options.journal_path = journal->path().c_str();
    for (const pipeline::Crash& c : journal->crashes()) {
      metrics.crashes[c.step] += c.count;
      log::warn("crash journal: " + c.topic + "[" + std::to_string(c.partition) + "]@" +
                std::to_string(c.offset) + " crashed the host " + std::to_string(c.count) +
                " time(s), last with " + c.signal + " in step '" + c.step + "' (crash_limit " +
                std::to_string(g.source_deployment().crash_limit) + ")");
    }
  }
  crash::install(crash_options);
  crash::guard_exit();
  return journal;
}

int run_command(const RunArgs& args, const std::atomic<bool>& stop) {
  log::Level level;
  if (!log::parse_level(args.log_level, &level)) {
    std::fprintf(stderr, "error: --log-level: expected debug, info, warn or error, got '%s'\n",
                 args.log_level.c_str());
    return 2;
  }
  log::set_level(level);
  log::set_format(args.log_format == "json" ? log::Format::json : log::Format::text);
  const bool kafka = args.runtime == "kafka";
  if (kafka && args.pipeline.config_path.empty()) {
    std::fprintf(stderr, "error: --config is required with --runtime kafka\n");
    return 2;
  }
  config::Diagnostics diag;
  auto registry = std::make_unique<plugin::PluginRegistry>("");
  auto generation = load(args.pipeline, kafka, diag, *registry);
  report(diag);
  if (!generation) return 2;
  log::set_pipeline(generation->pipeline.name);
  if (!args.adapter.empty()) {
    log::info("--adapter " + args.adapter +
              ": accepted for the original's command lines; this host has one runtime");
  }
  for (const auto& step : generation->steps) {
    if (!step.function) continue;
    log::info("step '" + step.name + "': " + step.plugin + " " + step.plugin_version + " (" +
              step.library->path() + ")");
  }
  if (!kafka) {
    crash::Options crash_options;
    crash_options.pipeline = generation->pipeline.name.c_str();
    crash_options.json_log = log::format() == log::Format::json;
    crash::install(crash_options);
    return run_local(args, std::move(generation), stop);
  }
  metrics::PipelineMetrics metrics(generation->pipeline.name);
  const auto journal = open_crash_journal(args, *generation, metrics);
  kafka::RuntimeSupervisor runtime([&args, &metrics, &journal](const pipeline::Generation& g) {
    kafka::RuntimeOptions options;
    options.metrics = &metrics;
    options.crash_journal = journal.get();
    options.healthcheck_file = healthcheck_file(args, g);
    options.client_id = args.client_id.empty() ? "streams-host-" + g.pipeline.name : args.client_id;
    options.error_policy = error_policy(args, g);
    return options;
  });
  std::string error;
  if (!runtime.start(generation, &error)) {
    print_problem(log::Level::error, error);
    return 1;
  }
  const std::string plugins_dir = registry->dir();
  reload::ReloadController controller(
      generation, std::move(registry),
      [&args](plugin::PluginRegistry& r, config::Diagnostics& d) {
        return load(args.pipeline, /*kafka=*/true, d, r);
      },
      runtime, &metrics, std::chrono::milliseconds(args.reload_timeout_ms));
  reload::ControlOptions control_opts = control_options(args, plugins_dir, generation->python_dirs);
  control_opts.metrics = &metrics;
  control_opts.health = {args.liveness_timeout_ms, args.readiness_commit_age_ms};
  control_opts.exporter = generation->deployment.metrics;
  control_opts.reopen_files = [&runtime] { runtime.reopen_files(); };
  if (!admin_token(args.admin_token_file, &control_opts.admin_token, &error)) {
    print_problem(log::Level::error, error);
    return 2;
  }
  if (args.admin_port < 0 &&
      generation->deployment.metrics.type == config::MetricsDeployment::Type::prometheus) {
    control_opts.admin_address = args.admin_address;
    control_opts.admin_port = static_cast<uint16_t>(generation->deployment.metrics.port);
  }
  auto control = reload::ControlPlane::start(controller, control_opts, &error);
  if (!control) {
    print_problem(log::Level::error, error);
    return 2;
  }
  // A stop drains and leaves the group within twice drain_timeout_ms.
  const StopWatchdog watchdog(
      stop, 2 * std::chrono::milliseconds(generation->source_deployment().drain_timeout_ms) +
                std::chrono::seconds(5));
  const int status = runtime.run(stop);
  control.reset();  // no reload outlives the runtime
  return status;
}

// Sends `method` `target` to the host's admin endpoint and prints the answer.
int admin_command(const AdminArgs& args, const char* method, const char* target) {
  std::string token, error;
  if (!admin_token(args.admin_token_file, &token, &error)) {
    std::fprintf(stderr, "error: %s\n", error.c_str());
    return 2;
  }
  const admin::Response r =
      admin::request(args.admin_address, static_cast<uint16_t>(args.admin_port), method, target,
                     args.timeout_ms, token);
  if (r.status == 0) {
    std::fprintf(stderr, "error: %s\n", r.body.c_str());
    return 2;
  }
  std::fputs(r.body.c_str(), stdout);
  return r.status == 200 ? 0 : 1;
}

int reload_command(const AdminArgs& args) { return admin_command(args, "POST", "/reload"); }

int status_command(const AdminArgs& args) { return admin_command(args, "GET", "/status"); }

}  // namespace streams::cli
