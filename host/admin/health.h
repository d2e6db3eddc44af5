// Liveness and readiness of a running host (control plane), for GET /livez
// and GET /readyz, read from the metrics the processing thread writes.
//
// Live: the processing loop turned within `liveness_timeout_ms` (or has not
// started yet). When it has not, every thread's state is logged once per
// stall. Ready: live, started, partitions assigned (plugins are loaded
// before the loop starts), and the last commit cycle went through within
// `readiness_commit_age_ms`; or a standby: a member of the group that was
// given no partitions (more members than partitions), ready to take some.
// A host whose brokers say its source topic does not exist, or may not be
// read by it, is not ready (not a benign wait: it lasts until someone acts).
//
// Thread: the control thread (one caller at a time).
#pragma once

#include <string>

#include "metrics/metrics.h"

namespace streams::admin {

struct HealthOptions {
  int liveness_timeout_ms = 30000;
  int readiness_commit_age_ms = 60000;
  // Not ready this long in a row (benign waits aside): an ERROR line
  // (HealthWatch). 0: never.
  int not_ready_error_ms = 300000;
};

struct HealthAnswer {
  bool ok = false;
  std::string body;    // JSON: {"ok": ..., "reason": ...}
  std::string reason;  // why not ok ("" when ok)
  // Not ok, and not a failure either: joining the group, a state restore
  // under way.
  bool benign = false;
};

class Health {
 public:
  // `metrics` must outlive this.
  Health(const metrics::PipelineMetrics& metrics, HealthOptions options)
      : metrics_(metrics), options_(options) {}
  HealthAnswer live();
  HealthAnswer ready();

 private:
  // Empty when live, else why not.
  std::string stalled();

  const metrics::PipelineMetrics& metrics_;
  HealthOptions options_;
  bool reported_ = false;  // this stall's thread states were logged
};

// One line per thread of this process: id, name, state and where it waits
// (from /proc/self/task).
std::string thread_states();

}  // namespace streams::admin
