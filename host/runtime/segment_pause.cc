#include "runtime/segment_pause.h"

#include <algorithm>

#include "common/clock.h"
#include "common/fault_point.h"
#include "common/log.h"
#include "pipeline/runtime_gauges.h"

namespace streams::kafka {
namespace {

constexpr int kPollMs = 200;
constexpr int kWriteTimeoutMs = 10000;
constexpr int kRetryMs = 5000;
constexpr int64_t kWarnEveryMs = 60000;
constexpr int kCatchUpMs = 5000;
// The partitions' status is published about once a second: a report waits
// for one published after the pause was applied.
constexpr int64_t kStatusAgeMs = pipeline::RuntimeGauges::kPartitionsMs * 3 / 2;

std::string asked_by(const PauseRecord& r, const std::string& topic) {
  return "the operator (segment " + std::string(r.paused ? "pause" : "resume") + " by " + r.by +
         ", " + topic + " offset " + std::to_string(r.offset) + ")";
}

}  // namespace

SegmentPause::SegmentPause(std::unique_ptr<ControlReader> reader, std::string group,
                           std::string member, OperatorPause& pause,
                           const metrics::PipelineMetrics& metrics)
    : reader_(std::move(reader)),
      group_(std::move(group)),
      member_(std::move(member)),
      pause_(pause),
      metrics_(metrics) {}

SegmentPause::~SegmentPause() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

bool SegmentPause::catch_up(int timeout_ms, std::string* error) {
  delay_point("segment-catch-up");  // tests: a control topic slow to read
  int64_t first = 0, end = 0;
  if (!reader_->offsets(timeout_ms, &first, &end, error)) return false;
  PauseRecord last;
  if (first < end && !reader_->read(
                         first, end, timeout_ms,
                         [&](const ControlRecord& r) {
                           if (r.kind == ControlRecord::pause_record && r.group == group_)
                             last = r.pause;
                         },
                         error)) {
    return false;
  }
  next_ = end;
  caught_up_ = true;
  if (last.offset >= 0) apply(last, /*live=*/false);
  return true;
}

void SegmentPause::start() {
  thread_ = std::thread([this] { run(); });
}

void SegmentPause::apply(const PauseRecord& r, bool live) {
  const auto since = static_cast<int64_t>(metrics_.paused_since_ms.value());
  if (r.paused) {
    pause_offset_ = r.offset;
    applied_ms_ = steady_ms();
    if (since == 0) pause_.set(true, asked_by(r, reader_->topic()));
    return;
  }
  pause_offset_ = -1;
  // At the start, a resume older than the pause kept here (an operator
  // paused this host since) leaves it paused.
  if (since != 0 && (live || r.at_ms >= since)) pause_.set(false, asked_by(r, reader_->topic()));
}

void SegmentPause::run() {
  while (!stop_) {
    std::string error;
    bool ok = true;
    if (!caught_up_) {  // not at the start: the last record counts, not each
      ok = catch_up(kCatchUpMs, &error);
    } else {
      ok = reader_->read(
          next_, -1, kPollMs,
          [&](const ControlRecord& r) {
            if (r.kind == ControlRecord::pause_record && r.group == group_) apply(r.pause, true);
          },
          &error);
    }
    if (!ok && steady_ms() - last_warning_ms_ >= kWarnEveryMs) {  // the source warns too
      last_warning_ms_ = steady_ms();
      log::warn("segment pause: " + error);
    }
    if (!caught_up_) continue;
    next_ = std::max(next_, reader_->next());
    report();
  }
}

// Once every partition this host holds is drained under the segment pause,
// says which (again when they change: a rebalance during the pause).
void SegmentPause::report() {
  if (pause_offset_ < 0 || metrics_.paused_since_ms.value() == 0) return;
  if (steady_ms() - applied_ms_ < kStatusAgeMs) return;
  DrainedRecord now{pause_offset_, {}};
  for (const metrics::PartitionStatus& p : metrics_.partitions()) {
    if (!p.drained) return;
    now.partitions.push_back(p.partition);
  }
  std::sort(now.partitions.begin(), now.partitions.end());
  if (now.pause_offset == reported_.pause_offset && now.partitions == reported_.partitions) return;
  if (steady_ms() < next_report_ms_) return;
  std::string error;
  if (reader_->write(drained_key(group_, member_), encode(now), kWriteTimeoutMs, &error) < 0) {
    next_report_ms_ = steady_ms() + kRetryMs;
    log::warn("segment pause: reporting the drained partitions: " + error);
    return;
  }
  reported_ = std::move(now);
}

}  // namespace streams::kafka
