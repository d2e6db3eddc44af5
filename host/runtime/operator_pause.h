// The operator's pause of a host (control plane): POST /pause and /resume,
// `run --paused`, and a pause kept across restarts of the process. A pause
// protects something downstream (a store under maintenance): a host that
// crashed or was restarted meanwhile must not resume by itself, so the pause
// is written to a file in the state directory and read back at the start,
// until an operator resumes.
//
// Thread: set() from any thread (the admin thread, the segment pause's; the
// main thread before they start), one at a time under a lock.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "metrics/metrics.h"

namespace streams::kafka {

class OperatorPause {
 public:
  // `apply` pauses (true) or resumes the runtimes, returning false when they
  // were so already (RuntimeSupervisor::set_paused). `path` keeps the pause
  // across restarts (empty: not kept). `metrics` (paused_since_ms) must
  // outlive this.
  OperatorPause(std::function<bool(bool)> apply, std::string path,
                metrics::PipelineMetrics& metrics)
      : apply_(std::move(apply)), path_(std::move(path)), metrics_(metrics) {}

  // At the start: pauses when the file says a pause is under way (one that
  // cannot be read counts as one begun now), and says so in the log.
  void restore();
  // Pauses or resumes; `who` names the asker in the log. Returns the admin
  // endpoint's answer, {"paused": bool, "since_ms": ms|null}.
  std::string set(bool paused, const std::string& who);
  // Keeps the pause in `path` from now on (a reload changed the consumer
  // group, which names the file), moving a pause kept in the old one.
  void move_to(std::string path);

 private:
  // Writes or removes the file; logs (never fails) when it cannot.
  void keep(int64_t since_ms, const std::string& who);

  std::mutex mutex_;  // set() is asked from two threads
  std::function<bool(bool)> apply_;
  std::string path_;
  metrics::PipelineMetrics& metrics_;
};

}  // namespace streams::kafka
