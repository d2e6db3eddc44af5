// The control thread of a running host: SIGHUP, changes of the pipeline
// file, the deployment config or a plugin file, and the admin endpoint
// (GET /status, POST /reload) all end in the reload controller; the admin
// endpoint also serves GET /metrics, /livez, /readyz and /state/..., and
// POST /reopen, /pause and /resume.
//
// Lifetime/thread: start() spawns the thread; the destructor stops and joins
// it. The controller must outlive the ControlPlane.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "admin/health.h"
#include "config/deployment_config.h"
#include "metrics/metrics.h"
#include "pipeline/state_query.h"
#include "reload/file_watcher.h"
#include "reload/reload_controller.h"

namespace streams::reload {

struct ControlOptions {
  std::string admin_address;  // empty: no admin endpoint
  uint16_t admin_port = 0;    // 0: any free port (logged)
  std::string admin_token;    // required off loopback (start() refuses otherwise)
  // Reads the token again before each reload and every 2 s (a rotated
  // --admin-token-file), on the control thread; false with *error when it
  // has none. Null: fixed.
  std::function<bool(std::string* token, std::string* error)> read_token;
  bool metrics_without_token = false;  // GET /metrics answers without it
  // What to watch for changes (each a reload): asked on the control thread
  // at the start and after each reload that applied, so that a new
  // generation's files are watched. Null, or empty at the start: none.
  std::function<std::vector<WatchSpec>()> watch;
  int quiet_ms = 300;  // a change is acted on once files are quiet this long
  // Served as GET /metrics (Prometheus text); null: not served. Must
  // outlive the ControlPlane. The admin thread writes its health gauges
  // (PipelineMetrics::ready, not_ready_ms).
  metrics::PipelineMetrics* metrics = nullptr;
  // With `metrics`: GET /livez and GET /readyz, and the deployment's
  // periodic exporter (log, DogStatsD).
  admin::HealthOptions health;
  config::MetricsDeployment exporter;
  // SIGHUP and POST /reopen: file sinks reopen their paths (log rotation).
  // Thread-safe; null: nothing to reopen.
  std::function<void()> reopen_files;
  // POST /pause (true) and /resume (false): the operator's pause; returns
  // the answer's JSON body. On the admin thread; null: 404.
  std::function<std::string(bool)> pause;
  // GET /state/...: reads a stateful step's state (null: 404).
  std::function<void(pipeline::StateQuery, pipeline::StateReply)> query_state;
};

class ControlPlane {
 public:
  // Null with *error if the admin endpoint or the watches cannot be set up.
  static std::unique_ptr<ControlPlane> start(ReloadController& controller,
                                             const ControlOptions& options, std::string* error);
  virtual ~ControlPlane() = default;
};

}  // namespace streams::reload
