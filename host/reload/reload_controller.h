// The reload controller (control plane): turns a trigger (SIGHUP, a changed
// file, POST /reload) into a new generation, hands it to the data plane and
// keeps the outcome for the log and the status endpoint.
//
// A reload is transactional. The files are read and checked, changed plugin
// files are loaded from staged copies (unchanged ones stay loaded), every
// step's function is created once to prove it initialises, and only then is
// the data plane asked to switch; it refuses as a whole too. Any failure
// leaves the running generation untouched, and says why. A change of the
// source or the sinks is applied by restarting the consumer (it drains,
// commits and rejoins its group); any other keeps it in its group.
//
// A reload is bounded: one that has not switched within `timeout` (a plugin
// stuck in `create` or `process`) is refused, naming where the thread it
// waits on is, and never applied later (the data plane's part is cancelled).
// A consumer restart may take twice the drain_timeout_ms more.
//
// Thread: reload() calls are serialised; status_json() and activity() from
// any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/crash_guard.h"
#include "config/diagnostics.h"
#include "metrics/metrics.h"
#include "pipeline/generation_swap.h"
#include "plugin/plugin_registry.h"

namespace streams::reload {

struct ReloadResult {
  enum class Outcome { applied, unchanged, refused };
  Outcome outcome = Outcome::refused;
  std::string trigger;               // "SIGHUP", "admin", "file change: ..."
  uint64_t generation = 0;           // the generation running afterwards
  std::vector<std::string> changes;  // what the reload changed (or would have)
  std::string error;                 // refused: why
  pipeline::SwapOutcome swap;        // applied: switch points and time
  // Applied by restarting the consumer (the source or sinks changed): why.
  std::string restarted;
  // Settings read only at start-up that differ from the ones in effect
  // ("metrics", "sentry_sdk_config"): they take effect at the next start.
  std::vector<std::string> at_next_start;
  int64_t requested_ms = 0;  // wall clock, ms since the epoch
  int64_t finished_ms = 0;
};

const char* to_string(ReloadResult::Outcome outcome);
// The result as a JSON object (the body of POST /reload).
std::string to_json(const ReloadResult& result);

class ReloadController {
 public:
  // Reads the files and builds a generation with `registry`; null with
  // `diag` filled on error.
  using Loader = std::function<std::shared_ptr<const pipeline::Generation>(
      plugin::PluginRegistry& registry, config::Diagnostics& diag)>;

  // `running` was built with `registry`; `swapper` and `metrics` (null:
  // none; reloads by outcome and the generation are counted there) must
  // outlive this.
  ReloadController(std::shared_ptr<const pipeline::Generation> running,
                   std::unique_ptr<plugin::PluginRegistry> registry, Loader load,
                   pipeline::GenerationSwapper& swapper,
                   metrics::PipelineMetrics* metrics = nullptr,
                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Blocks until the outcome is known (for an applied one: every partition
  // switched). Logs it.
  ReloadResult reload(const std::string& trigger);
  // The running generation (number, steps with plugin versions), the
  // reload counts, the last reload and what is watched, as a JSON object.
  std::string status_json() const;
  // What a change of reloads ("p.yaml", "plugins/*.so"), for the status.
  // Any thread.
  void set_watching(std::vector<std::string> watching);
  // What the reload under way is doing ("creating step instances: in step
  // 'x' (plugin p 1.0)", "waiting for the processing thread: ..."); "" when
  // none runs. For a caller that stopped waiting for it.
  std::string activity() const;
  std::chrono::milliseconds timeout() const { return timeout_; }

  // Called after each applied reload, on the reloading thread and before
  // reload() returns, with the generations before and after: for control
  // plane parts made from a generation (the segment pause's follower).
  // Set before the first reload.
  using Applied =
      std::function<void(const pipeline::Generation& before, const pipeline::Generation& after)>;
  void on_applied(Applied applied) { applied_ = std::move(applied); }
  // Called on the reloading thread around a reload that restarts the
  // consumer: `restarting` before the restart is asked for, `restarted`
  // once its outcome is known (whether it took effect), before `applied`.
  // For control plane parts that hold the new consumer until they follow
  // its generation (the segment pause's follower). Set before the first
  // reload.
  using Restarting = Applied;
  using Restarted = std::function<void(bool took_effect)>;
  void on_restart(Restarting restarting, Restarted restarted) {
    restarting_ = std::move(restarting);
    restarted_ = std::move(restarted);
  }

 private:
  // One reload, published by reload(): an applied one sets *next to the
  // generation now running.
  ReloadResult attempt(const std::string& trigger,
                       std::shared_ptr<const pipeline::Generation>* next);
  // Waits for `swap` until `deadline`, then gives it up (as `why`).
  pipeline::SwapOutcome wait(std::future<pipeline::SwapOutcome> swap,
                             std::chrono::steady_clock::time_point deadline);
  void set_phase(const char* phase);

  std::mutex reload_mutex_;  // one reload at a time
  std::unique_ptr<plugin::PluginRegistry> registry_;
  Loader load_;
  Applied applied_;
  Restarting restarting_;
  Restarted restarted_;
  pipeline::GenerationSwapper& swapper_;
  metrics::PipelineMetrics* metrics_;
  std::chrono::milliseconds timeout_;
  // The reload under way: its phase, and the InFlight of its thread (plugin
  // create calls are marked there), under state_mutex_.
  const char* phase_ = nullptr;
  const crash::InFlight* reload_thread_ = nullptr;

  // The start-up only settings in effect (see ReloadResult::at_next_start).
  config::MetricsDeployment started_metrics_;
  config::SentryDeployment started_sentry_;

  mutable std::mutex state_mutex_;  // guards what status_json() reads
  std::shared_ptr<const pipeline::Generation> running_;
  uint64_t generation_ = 1;
  int64_t running_since_ms_ = 0;
  uint64_t counts_[3] = {0, 0, 0};  // by Outcome
  std::unique_ptr<ReloadResult> last_;
  std::vector<std::string> watching_;
};

}  // namespace streams::reload
