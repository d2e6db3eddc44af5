// `streams-host run`: the pipeline on Kafka (with the control plane, the
// crash journal and the stop watchdog) or locally.
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <tuple>

#include "cli/commands.h"
#include "cli/loading.h"

#include "common/crash_guard.h"
#include "common/host_signals.h"
#include "common/log.h"
#include "common/open_files.h"
#include "kafka/kafka_conf.h"
#include "local/local_runtime.h"
#include "pipeline/crash_journal.h"
#include "pipeline/generation.h"
#include "pipeline/generation_diff.h"
#include "plugin/plugin_registry.h"
#include "plugin/python_provider.h"
#include "reload/control_plane.h"
#include "reload/reload_controller.h"
#include "report/sentry_reporter.h"
#include "runtime/operator_pause.h"
#include "runtime/runtime_supervisor.h"
#include "runtime/segment_pause.h"
#include "state/store.h"

namespace streams::cli {
namespace {

// What a reload of the running generation `g` follows: the pipeline and
// deployment files, the plugins directory, the directories of its Python
// modules (and their packages) and the files its steps read (a parser's
// schema; a Python pipeline file's schemas directory, where one may be
// added).
std::vector<reload::WatchSpec> watched_files(const RunArgs& args, const pipeline::Generation& g) {
  using reload::WatchSpec;
  std::vector<WatchSpec> out{WatchSpec::file(args.pipeline.pipeline_path),
                             WatchSpec::file(args.pipeline.config_path),
                             WatchSpec::files(plugins_dir_of(args.pipeline, g.deployment), ".so")};
  for (const std::string& dir : g.python_dirs) {
    out.push_back(WatchSpec::files(dir, ".py", &plugin::PythonProvider::module_dir));
  }
  for (const config::StepSpec* step : g.pipeline.all_steps()) {
    for (const std::string& file : step->type->files(*step)) out.push_back(WatchSpec::file(file));
  }
  if (!g.pipeline.python_schemas_dir.empty()) {
    out.push_back(WatchSpec::files(g.pipeline.python_schemas_dir, ".json"));
  }
  return out;
}

reload::ControlOptions control_options(const RunArgs& args) {
  reload::ControlOptions o;
  if (args.admin_port >= 0) {
    o.admin_address = args.admin_address;
    o.admin_port = static_cast<uint16_t>(args.admin_port);
  }
  return o;
}

std::string client_id(const RunArgs& args, const pipeline::Generation& g) {
  return args.client_id.empty() ? "streams-host-" + g.pipeline.name : args.client_id;
}

std::string state_dir(const RunArgs& args) { return host_state_dir(args.state_dir); }

// The segment-wide pause (runtime/segment_pause.h), caught up before the
// source reads a record; null (logged) when its clients cannot be made.
std::unique_ptr<kafka::SegmentPause> follow_segment_pause(const RunArgs& args,
                                                          const pipeline::Generation& g,
                                                          kafka::OperatorPause& pause,
                                                          const metrics::PipelineMetrics& metrics) {
  constexpr int kCatchUpMs = 5000;
  std::string error;
  auto reader = kafka::ControlReader::open(
      kafka::control_settings(g), kafka::control_topic_of(g.source_deployment()),
      client_id(args, g) + "-control", /*host_logs=*/true, &error);
  if (!reader) {
    log::warn("segment pause: " + error + ": segment pauses are not followed");
    return nullptr;
  }
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "host");
  auto follower = std::make_unique<kafka::SegmentPause>(
      std::move(reader), g.consumer_group(), std::string(host) + ":" + std::to_string(::getpid()),
      pause, metrics);
  if (!follower->catch_up(kCatchUpMs, &error)) {
    log::warn("segment pause: " + error +
              "; starting without knowing whether the segment is paused (read again meanwhile)");
  }
  follower->start();
  return follower;
}

// What a segment pause follower of `g` reads: the brokers and connection
// settings, the control topic and the consumer group.
auto followed(const pipeline::Generation& g) {
  return std::make_tuple(kafka::control_settings(g), kafka::control_topic_of(g.source_deployment()),
                         g.consumer_group());
}

// The control plane's parts made from the running generation, made again by
// a reload that changes what they follow: the segment pause's follower, the
// operator pause's file (named by the group) and the metrics' source labels.
// A consumer restarted into what the follower does not follow yet (a new
// group) starts held, as at the start, until the new follower has caught up.
// Thread: the main thread, then the reload controller's (one at a time).
class FollowedGeneration {
 public:
  FollowedGeneration(const RunArgs& args, kafka::OperatorPause& pause,
                     metrics::PipelineMetrics& metrics, kafka::RuntimeSupervisor& runtime)
      : args_(args), pause_(pause), metrics_(metrics), runtime_(runtime) {}

  void start(const pipeline::Generation& g) {
    segment_pause_ = follow_segment_pause(args_, g, pause_, metrics_);
  }

  void restarting(const pipeline::Generation& before, const pipeline::Generation& after) {
    if (followed(before) == followed(after)) return;
    runtime_.hold_next();
    held_ = true;
    log::info("segment pause: the restarted consumer of group " + after.consumer_group() +
              " waits until this host has read that group's pauses");
  }
  void restarted(bool took_effect) {
    if (!took_effect) release();  // else once applied() followed the new generation
  }

  void applied(const pipeline::Generation& before, const pipeline::Generation& after) {
    if (before.source_topic() != after.source_topic() ||
        before.consumer_group() != after.consumer_group()) {
      metrics_.set_source(after.source_topic(), after.consumer_group());
      pause_.move_to(
          pipeline::group_file_path(state_dir(args_), after.consumer_group(), ".paused"));
    }
    if (followed(before) != followed(after)) {
      segment_pause_.reset();  // its thread stops before the next one reads
      log::info("segment pause: following the pauses of group " + after.consumer_group() + " in " +
                kafka::control_topic_of(after.source_deployment()) +
                " from now on (a reload changed the brokers, control_topic or group)");
      segment_pause_ = follow_segment_pause(args_, after, pause_, metrics_);
    }
    release();
  }

 private:
  void release() {
    if (!held_) return;
    runtime_.release();
    held_ = false;
    log::info("segment pause: read; the restarted consumer goes on as they say");
  }

  const RunArgs& args_;
  kafka::OperatorPause& pause_;
  metrics::PipelineMetrics& metrics_;
  kafka::RuntimeSupervisor& runtime_;
  std::unique_ptr<kafka::SegmentPause> segment_pause_;
  bool held_ = false;  // the restarted consumer waits for the new follower
};

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
      const std::string what = "crash journal: " + c.topic + "[" + std::to_string(c.partition) +
                               "]@" + std::to_string(c.offset) + " crashed the host " +
                               std::to_string(c.count) + " time(s), last with " + c.signal +
                               " in step '" + c.step + "'";
      log::warn(what + " (crash_limit " + std::to_string(g.source_deployment().crash_limit) + ")");
      // A crash cannot be reported as it happens (a signal handler sends
      // nothing); the journal's entries are, at the start after it.
      report::capture(
          {report::Level::fatal,
           what,
           c.signal,
           {},
           {{"step", c.step}, {"plugin", c.plugin}, {"error", "crash"}, {"topic", c.topic}},
           {c.step, "crash", c.signal}});
    }
  }
  crash::install(crash_options);
  crash::guard_exit();
  return journal;
}

// The backend of stateful steps' stores (stores_dir, state_backend),
// checked now when the pipeline has such steps. Null with *error.
std::unique_ptr<state::Backend> open_state(const RunArgs& args, const pipeline::Generation& g,
                                           std::string* error) {
  auto backend = g.deployment.state_backend == "memory"
                     ? state::memory_backend()
                     : state::rocksdb_backend(
                           stores_dir(args.state_dir, g.deployment.state_dir, g.pipeline.name));
  for (const auto& step : g.steps) {
    if (!step.spec->state) continue;
    if (!backend->check(error)) return nullptr;
    log::info(std::string("state: ") + backend->name() + " stores" +
              (backend->where().empty() ? "" : " in " + backend->where()));
    break;
  }
  std::vector<std::string> stored;
  if (!backend->stored_steps(&stored, error)) return nullptr;
  const std::vector<std::string> dropped = pipeline::dropped_state(stored, g);
  if (!dropped.empty()) {
    const std::string why = pipeline::dropped_state_error(dropped, "state_dir " + backend->where());
    if (!args.allow_dropped_state) {
      *error = why;
      return nullptr;
    }
    log::warn(why + " (--allow-dropped-state: started anyway)");
  }
  return backend;
}

}  // namespace

// Reports errors to the Sentry project of the deployment's sentry_sdk_config
// while it lives, if it names one; at the end it sends what is queued, for
// at most 2 s (as Sentry's SDKs do at exit). The reporter itself is never
// destroyed: any thread may still log an error (common/error_report.h).
class ErrorReports {
 public:
  explicit ErrorReports(const pipeline::Generation& g) {
    const config::SentryDeployment& sentry = g.deployment.sentry;
    if (sentry.dsn.empty()) return;
    report::SentryOptions o;
    o.sentry = sentry;
    o.pipeline = g.pipeline.name;
    char host[256] = "";
    if (::gethostname(host, sizeof host - 1) == 0) o.server_name = host;
    reporter_ = new report::SentryReporter(std::move(o));
    report::set_reporter(reporter_);
    log::info("errors are reported to Sentry: " + sentry.envelope_url);
  }
  ~ErrorReports() {
    if (reporter_) reporter_->close(std::chrono::seconds(2));
  }
  // What is captured so far is sent (2 s at most) before the run goes on.
  void flush() const {
    if (reporter_) reporter_->flush(std::chrono::seconds(2));
  }
  ErrorReports(const ErrorReports&) = delete;
  ErrorReports& operator=(const ErrorReports&) = delete;

 private:
  report::SentryReporter* reporter_ = nullptr;
};

int run_command(const RunArgs& args, const std::atomic<bool>& stop) {
  log::Level level;
  if (!log::parse_level(args.log_level, &level)) {
    std::fprintf(stderr, "error: --log-level: expected debug, info, warn or error, got '%s'\n",
                 args.log_level.c_str());
    return 2;
  }
  log::set_level(level);
  log::set_format(args.log_format == "json" ? log::Format::json : log::Format::text);
  const uint64_t open_files = raise_open_files_limit();
  if (log::enabled(log::Level::debug)) {
    log::debug("open files: the process may open " + std::to_string(open_files));
  }
  const bool kafka = args.runtime == "kafka";
  if (kafka) {
    signals::hold_sighup();  // a reload asked before the control plane listens
    // A log pipe whose reader is gone fails the write (EPIPE), not the host.
    std::signal(SIGPIPE, SIG_IGN);
  }
  if (kafka && args.pipeline.config_path.empty()) {
    std::fprintf(stderr, "error: --config is required with --runtime kafka\n");
    return 2;
  }
  if (!kafka && args.paused) {
    std::fprintf(stderr,
                 "error: --paused is for --runtime kafka (a local run reads its input once)\n");
    return 2;
  }
  config::Diagnostics diag;
  auto registry = std::make_unique<plugin::PluginRegistry>("");
  const auto host_signals = signals::Dispositions::now();
  auto generation = load(args.pipeline, kafka, diag, *registry);
  report(diag);
  for (const std::string& name : host_signals.restore()) {
    log::warn("loading the pipeline replaced the host's handler of " + name +
              " (a Python module calling signal.signal, say): the host's is back; a handler of "
              "the module's would never run in the host");
  }
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
  const ErrorReports error_reports(*generation);
  metrics::PipelineMetrics metrics(generation->pipeline.name);
  metrics.set_source(generation->source_topic(), generation->consumer_group());
  const auto journal = open_crash_journal(args, *generation, metrics);
  // A crash reported now must not wait for an exit that may be the next crash.
  if (journal && !journal->crashes().empty()) error_reports.flush();
  std::string error;
  const auto state = open_state(args, *generation, &error);
  if (!state) {
    print_problem(log::Level::error, error);
    return 2;
  }
  kafka::RuntimeSupervisor runtime([&](const pipeline::Generation& g) {
    kafka::RuntimeOptions options;
    options.metrics = &metrics;
    options.crash_journal = journal.get();
    options.state = state.get();
    options.allow_dropped_state = args.allow_dropped_state;
    options.state_flush_ms = g.deployment.state_flush_interval_ms;
    options.healthcheck_file = healthcheck_file(args, g);
    options.client_id = client_id(args, g);
    options.error_policy = error_policy(args, g);
    return options;
  });
  kafka::OperatorPause operator_pause(
      [&runtime](bool paused) { return runtime.set_paused(paused); },
      pipeline::group_file_path(state_dir(args), generation->consumer_group(), ".paused"), metrics);
  operator_pause.restore();
  if (args.paused) operator_pause.set(true, "the operator (run --paused)");
  FollowedGeneration followed(args, operator_pause, metrics, runtime);
  followed.start(*generation);
  if (!runtime.start(generation, &error)) {
    print_problem(log::Level::error, error);
    return 1;
  }
  // Made again after each applied reload, on the control thread, which
  // alone reads it after the start.
  std::vector<reload::WatchSpec> watch_list = watched_files(args, *generation);
  reload::ReloadController controller(
      generation, std::move(registry),
      [&args](plugin::PluginRegistry& r, config::Diagnostics& d) {
        return load(args.pipeline, /*kafka=*/true, d, r);
      },
      runtime, &metrics, std::chrono::milliseconds(args.reload_timeout_ms));
  controller.on_restart(
      [&followed](const pipeline::Generation& before, const pipeline::Generation& after) {
        followed.restarting(before, after);
      },
      [&followed](bool took_effect) { followed.restarted(took_effect); });
  controller.on_applied([&followed, &watch_list, &args](const pipeline::Generation& before,
                                                        const pipeline::Generation& after) {
    followed.applied(before, after);
    watch_list = watched_files(args, after);
  });
  reload::ControlOptions control_opts = control_options(args);
  if (args.watch) control_opts.watch = [&watch_list] { return watch_list; };
  control_opts.metrics = &metrics;
  control_opts.health = {args.liveness_timeout_ms, args.readiness_commit_age_ms,
                         args.not_ready_error_ms};
  control_opts.exporter = generation->deployment.metrics;
  control_opts.reopen_files = [&runtime] { runtime.reopen_files(); };
  control_opts.pause = [&operator_pause](bool paused) {
    return operator_pause.set(
        paused, paused ? "the operator (POST /pause)" : "the operator (POST /resume)");
  };
  control_opts.query_state = [&runtime](pipeline::StateQuery q, pipeline::StateReply reply) {
    runtime.query_state(std::move(q), std::move(reply));
  };
  if (!admin_token(args.admin_token_file, &control_opts.admin_token, &error)) {
    print_problem(log::Level::error, error);
    return 2;
  }
  if (!args.admin_token_file.empty()) {  // a rotated file is read again (reloads, every 2 s)
    control_opts.read_token = [file = args.admin_token_file](std::string* token, std::string* why) {
      return admin_token(file, token, why);
    };
  }
  control_opts.metrics_without_token = args.metrics_without_token;
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
  control.reset();         // no reload outlives the runtime
  signals::hold_sighup();  // nor does a late SIGHUP end the shutdown
  return status;
}

}  // namespace streams::cli
