// A segment-wide pause (control plane): this host follows the control
// topic's pause records of its consumer group (kafka/control_topic.h), which
// `streams-host pause --config` writes, and pauses or resumes as POST /pause
// and /resume do. At the start it reads the topic to its end before the
// source reads a record, so a host started during the pause (a new pod, one
// without its state directory) starts paused. While a segment pause holds
// it, it reports the partitions it holds drained, for `pause` to wait on.
//
// A reload that changes what it follows (brokers, control topic, group)
// replaces it with one made and caught up anew (cli/run_command.cc); a
// consumer restarted for a new group is held paused until then.
//
// Thread: catch_up() before start(), on the thread that makes it (the main
// thread, or the reload's); then a thread of its own, stopped by the
// destructor.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kafka/control_topic.h"
#include "metrics/metrics.h"
#include "runtime/operator_pause.h"

namespace streams::kafka {

class SegmentPause {
  static constexpr int64_t kNever = int64_t{1} << 40;

 public:
  // `pause` and `metrics` must outlive this; `member` names this host in
  // its reports (unique in the group).
  SegmentPause(std::unique_ptr<ControlReader> reader, std::string group, std::string member,
               OperatorPause& pause, const metrics::PipelineMetrics& metrics);
  ~SegmentPause();

  // Reads the topic to its end and applies the group's last pause record:
  // a pause, or a resume newer than the pause kept in the state directory.
  // False with *error when the topic cannot be read within `timeout_ms`;
  // the thread then tries again before it follows.
  bool catch_up(int timeout_ms, std::string* error);
  // Follows the later records, and reports drained partitions.
  void start();

 private:
  void run();
  void apply(const PauseRecord& r, bool live);
  void report();

  std::unique_ptr<ControlReader> reader_;
  const std::string group_;
  const std::string member_;
  OperatorPause& pause_;
  const metrics::PipelineMetrics& metrics_;
  bool caught_up_ = false;      // catch_up() went through
  int64_t next_ = 0;            // the next offset to read
  int64_t applied_ms_ = 0;      // when the segment pause was applied (steady clock)
  int64_t pause_offset_ = -1;   // the segment pause that holds this host (-1: none)
  DrainedRecord reported_;      // the last report written
  int64_t next_report_ms_ = 0;  // a report that failed is tried again from then
  int64_t last_warning_ms_ = -kNever;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace streams::kafka
