#include "reload/reload_controller.h"

#include <map>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/clock.h"
#include "common/log.h"
#include "common/version.h"
#include "metrics/snapshot.h"
#include "pipeline/generation_diff.h"

namespace streams::reload {
namespace {

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "; ") + l;
  return out;
}

// "partitions 0@12, 1@start, ..." for the log: the first kShown, then how
// many more (the reload's answer lists every one).
std::string switch_text(const pipeline::SwapOutcome& swap) {
  constexpr size_t kShown = 8;
  std::string out;
  size_t shown = 0;
  for (const auto& [partition, offset] : swap.switch_points) {
    if (shown++ == kShown) break;
    out += (out.empty() ? "" : ", ") + std::to_string(partition) + "@" +
           (offset < 0 ? std::string("start") : std::to_string(offset));
  }
  const size_t all = swap.switch_points.size();
  if (all > kShown) out += " and " + std::to_string(all - kShown) + " more";
  return out.empty() ? "no partitions assigned" : "partitions " + out;
}

nlohmann::json steps_json(const pipeline::Generation& g) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : g.steps) {
    nlohmann::json step = {{"name", s.name}, {"kind", s.op->name()}};
    if (s.function) {
      step["plugin"] = s.plugin;
      step["version"] = s.plugin_version;
      step["function"] = s.spec->function;
      step["path"] = s.library->path();
    }
    if (s.sink != pipeline::StepBinding::kNone) {
      const pipeline::SinkBinding& sink = g.sinks[s.sink];
      step["sink"] = sink.settings->describe();
      step["guarantee"] = sink.type->guarantee(*sink.settings);
      step["batches_out"] = sink.type->batches_out(*sink.settings);
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

nlohmann::json result_json(const ReloadResult& r) {
  nlohmann::json j = {{"outcome", to_string(r.outcome)}, {"trigger", r.trigger},
                      {"generation", r.generation},      {"changes", r.changes},
                      {"requested_ms", r.requested_ms},  {"finished_ms", r.finished_ms}};
  if (!r.error.empty()) j["error"] = r.error;
  if (!r.at_next_start.empty()) j["at_next_start"] = r.at_next_start;
  if (r.outcome == ReloadResult::Outcome::applied) {
    j["took_effect_ms"] = r.swap.took_effect_ms;
    j["switch_us"] = r.swap.switch_us;
    j["restarted_consumer"] = !r.restarted.empty();
    nlohmann::json points = nlohmann::json::array();
    for (const auto& [partition, offset] : r.swap.switch_points) {
      points.push_back({{"partition", partition}, {"offset", offset}});
    }
    j["switch_points"] = std::move(points);
  }
  return j;
}

bool same_metrics(const config::MetricsDeployment& a, const config::MetricsDeployment& b) {
  return a.type == b.type && a.host == b.host && a.port == b.port && a.tags == b.tags &&
         a.period_sec == b.period_sec && a.udp_queue_size == b.udp_queue_size;
}

std::vector<std::string> step_names(const pipeline::Generation& g) {
  std::vector<std::string> out;
  for (const auto& step : g.steps) out.push_back(step.name);
  return out;
}

}  // namespace

const char* to_string(ReloadResult::Outcome outcome) {
  switch (outcome) {
    case ReloadResult::Outcome::applied:
      return "applied";
    case ReloadResult::Outcome::unchanged:
      return "unchanged";
    case ReloadResult::Outcome::refused:
      break;
  }
  return "refused";
}

std::string to_json(const ReloadResult& result) { return result_json(result).dump(); }

ReloadController::ReloadController(std::shared_ptr<const pipeline::Generation> running,
                                   std::unique_ptr<plugin::PluginRegistry> registry, Loader load,
                                   pipeline::GenerationSwapper& swapper,
                                   metrics::PipelineMetrics* metrics,
                                   std::chrono::milliseconds timeout)
    : registry_(std::move(registry)),
      load_(std::move(load)),
      swapper_(swapper),
      metrics_(metrics),
      timeout_(timeout),
      running_(std::move(running)),
      running_since_ms_(wall_ms()) {
  started_metrics_ = running_->deployment.metrics;
  started_sentry_ = running_->deployment.sentry;
  if (metrics_) {
    metrics_->generation.set(generation_);
    metrics_->set_current_steps(step_names(*running_));
  }
}

void ReloadController::set_phase(const char* phase) {
  std::lock_guard<std::mutex> lock(state_mutex_);
  phase_ = phase;
  reload_thread_ = phase ? &crash::in_flight() : nullptr;
}

std::string ReloadController::activity() const {
  std::lock_guard<std::mutex> lock(state_mutex_);
  if (!phase_) return "";
  std::string where = std::string(phase_) == "waiting for the processing thread"
                          ? crash::describe_processing()
                          : crash::describe(reload_thread_);
  return where.empty() ? phase_ : std::string(phase_) + ": it is " + where;
}

pipeline::SwapOutcome ReloadController::wait(std::future<pipeline::SwapOutcome> swap,
                                             std::chrono::steady_clock::time_point deadline) {
  if (swap.wait_until(deadline) != std::future_status::ready) {
    const std::string where = crash::describe_processing();
    const std::string why = "the processing thread did not switch within " +
                            std::to_string(timeout_.count()) + " ms" +
                            (where.empty() ? "" : "; it is " + where);
    if (swapper_.cancel(why)) return swap.get();
  }
  try {
    return swap.get();
  } catch (const std::exception& e) {  // a broken promise: the runtime went away
    pipeline::SwapOutcome failed;
    failed.error = std::string("the runtime did not answer: ") + e.what();
    return failed;
  }
}

ReloadResult ReloadController::reload(const std::string& trigger) {
  std::lock_guard<std::mutex> serial(reload_mutex_);
  std::shared_ptr<const pipeline::Generation> next;
  ReloadResult r = attempt(trigger, &next);
  set_phase(nullptr);
  r.finished_ms = wall_ms();
  switch (r.outcome) {
    case ReloadResult::Outcome::applied:
      log::info("reload (" + trigger + "): generation " + std::to_string(r.generation) +
                " took effect " +
                (r.restarted.empty() ? "at " + switch_text(r.swap)
                                     : std::string("with a restarted consumer")) +
                ": " + joined(r.changes));
      break;
    case ReloadResult::Outcome::unchanged:
      log::info("reload (" + trigger + "): nothing changed; generation " +
                std::to_string(r.generation) + " runs on");
      break;
    case ReloadResult::Outcome::refused:
      log::error("reload (" + trigger + ") refused; generation " + std::to_string(r.generation) +
                 " runs on: " + r.error);
      break;
  }
  if (r.outcome != ReloadResult::Outcome::refused && !r.at_next_start.empty()) {
    log::warn("reload (" + trigger + "): " + joined(r.at_next_start) +
              " changed; read at start-up only, that takes effect at the next start");
  }
  if (metrics_) {
    metrics_->reloads[static_cast<int>(r.outcome)].add();
    metrics_->generation.set(r.generation);
    if (next) metrics_->set_current_steps(step_names(*next));
  }
  const std::shared_ptr<const pipeline::Generation> now = next;
  // The generation and its reload's result appear in the status together.
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (next) {
      std::swap(running_, next);  // the old one unloads below, outside the lock
      generation_ = r.generation;
      running_since_ms_ = r.swap.took_effect_ms;
    }
    ++counts_[static_cast<int>(r.outcome)];
    last_ = std::make_unique<ReloadResult>(r);
  }
  // `next` holds the generation that ran before `now` (an applied reload).
  if (now && applied_) applied_(*next, *now);
  return r;
}

ReloadResult ReloadController::attempt(const std::string& trigger,
                                       std::shared_ptr<const pipeline::Generation>* applied) {
  ReloadResult r;
  r.trigger = trigger;
  r.requested_ms = wall_ms();
  std::shared_ptr<const pipeline::Generation> running;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    running = running_;
    r.generation = generation_;
  }
  const auto started = std::chrono::steady_clock::now();
  set_phase("reading the files and creating step instances");
  config::Diagnostics diag;
  auto next = load_(*registry_, diag);
  if (!next) {
    r.error = joined(diag.errors());
    return r;
  }
  if (std::chrono::steady_clock::now() > started + timeout_) {
    r.error = "reading the files and creating step instances took longer than " +
              std::to_string(timeout_.count()) + " ms";
    return r;
  }
  if (!same_metrics(started_metrics_, next->deployment.metrics)) {
    r.at_next_start.push_back("metrics");
  }
  const config::SentryDeployment& sentry = next->deployment.sentry;
  if (sentry.dsn != started_sentry_.dsn || sentry.environment != started_sentry_.environment) {
    r.at_next_start.push_back("sentry_sdk_config");
  }
  const pipeline::GenerationDiff diff = pipeline::diff_generations(*running, *next);
  r.changes = diff.changes;
  r.restarted = diff.needs_restart;
  if (!r.restarted.empty()) r.changes.insert(r.changes.begin(), r.restarted);
  if (r.changes.empty()) {
    r.outcome = ReloadResult::Outcome::unchanged;
    return r;
  }
  set_phase("waiting for the processing thread");
  auto deadline = started + timeout_;
  if (!r.restarted.empty()) {
    deadline += 2 * std::chrono::milliseconds(running->source_deployment().drain_timeout_ms);
  }
  const bool restart = !r.restarted.empty();
  if (restart && restarting_) restarting_(*running, *next);
  r.swap = wait(restart ? swapper_.restart(next) : swapper_.swap(next), deadline);
  if (restart && restarted_) restarted_(r.swap.ok);
  if (!r.swap.ok) {
    r.error = r.swap.error;
    return r;
  }
  *applied = std::move(next);
  ++r.generation;  // reloads are serial: generation_ + 1
  r.outcome = ReloadResult::Outcome::applied;
  return r;
}

namespace {

// The assigned partitions as their threads last published them, with the
// consumer lag librdkafka's statistics give for each.
nlohmann::json partitions_json(const metrics::PipelineMetrics& m) {
  std::map<std::string, double> lag;  // by partition number
  for (const metrics::Sample& s : metrics::snapshot(m)) {
    if (std::string_view(s.name) != "consumer_lag") continue;
    for (const auto& [k, v] : s.labels) {
      if (k == "partition") lag[v] = s.value;
    }
  }
  nlohmann::json out = nlohmann::json::array();
  for (const metrics::PartitionStatus& p : m.partitions()) {
    nlohmann::json j = {{"partition", p.partition}, {"thread", p.thread},
                        {"position", p.position},   {"committed", p.committed},
                        {"in_flight", p.in_flight}, {"paused", p.paused},
                        {"restoring", p.restoring}, {"drained", p.drained}};
    auto it = lag.find(std::to_string(p.partition));
    j["lag"] = it == lag.end() ? nlohmann::json(nullptr) : nlohmann::json(it->second);
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

std::string ReloadController::status_json() const {
  const nlohmann::json partitions = metrics_ ? partitions_json(*metrics_) : nlohmann::json::array();
  const uint64_t paused_since = metrics_ ? metrics_->paused_since_ms.value() : 0;
  std::lock_guard<std::mutex> lock(state_mutex_);
  nlohmann::json j = {
      {"host_version", STREAMS_VERSION},
      {"generation", generation_},
      {"running_since_ms", running_since_ms_},
      {"pipeline", running_->pipeline.name},
      {"source", running_->source_topic()},
      {"steps", steps_json(*running_)},
      {"paused", paused_since != 0},
      {"paused_since_ms", paused_since ? nlohmann::json(paused_since) : nlohmann::json(nullptr)},
      {"partitions", partitions},
      {"reloads", {{"applied", counts_[0]}, {"unchanged", counts_[1]}, {"refused", counts_[2]}}},
  };
  j["last_reload"] = last_ ? result_json(*last_) : nlohmann::json(nullptr);
  j["watching"] = watching_;
  return j.dump();
}

void ReloadController::set_watching(std::vector<std::string> watching) {
  std::lock_guard<std::mutex> lock(state_mutex_);
  watching_ = std::move(watching);
}

}  // namespace streams::reload
