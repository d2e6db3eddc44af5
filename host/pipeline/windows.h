// The windows of one reduce step in one Chain (data plane).
//
// Records are grouped by key; each group's records fall into panes of
// `slide` (records or milliseconds of event time), and a window is
// size/slide consecutive panes, so a sliding window merges its panes'
// accumulators instead of re-adding records. Each pane holds the input it
// started with (InputHolds), so nothing in an open window is committed.
//
// Count windows emit when their last pane fills. Time windows use event
// time (the record's timestamp; the processing time when it has none) and
// close when the partition's watermark, the highest timestamp seen minus
// allowed_lateness_ms, reaches their end; they are emitted in order of end,
// then key. A record all of whose windows have closed is late: a record
// error. A partition with no input for idle_flush_ms closes every window.
// At end of input (finish) every window with records not yet emitted is
// emitted, partial count windows included.
//
// Thread: the partition's processing thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>

#include <streams/plugin_abi.h>

#include "pipeline/held_input.h"
#include "pipeline/operators/reduce.h"
#include "pipeline/status.h"

namespace streams::pipeline {

// The aggregate and the hold bookkeeping, served by the Chain. A failure is
// reported before the call returns.
class WindowOps {
 public:
  virtual ~WindowOps() = default;
  virtual Status init(std::string* acc) = 0;
  virtual Status add(std::string_view acc, const streams_record& record, std::string* out) = 0;
  virtual Status merge(std::string_view first, std::string_view second, std::string* out) = 0;
  // Emits the window's output(s) from `acc`, derived from inputs held by
  // `held` onward.
  virtual Status result(std::string_view acc, const std::string* key, int64_t timestamp_ms,
                        const HeldInput& held) = 0;
  virtual void hold(const HeldInput& input) = 0;
  virtual void release(const HeldInput& input) = 0;
};

class Windows {
 public:
  // `grouped`: records come with a group key.
  Windows(const operators::ReduceSettings& settings, bool grouped, WindowOps& ops);

  // Adds `record` (its event time `timestamp_ms`) to group `key` (null: the
  // single group). `input` is the record's input, held if it opens a pane.
  // A late record: Status::reported with *late set, for the caller to report.
  Status add(const std::string* key, const streams_record& record, int64_t timestamp_ms,
             const HeldInput& input, int64_t now_ms, std::string* late);
  // Closes every time window after idle_flush_ms without input.
  Status tick(int64_t now_ms);
  // End of input: emits what is not yet emitted and releases every hold.
  Status finish();
  // Inputs held by open panes.
  size_t holds() const { return holds_; }

 private:
  struct Pane {
    int64_t start = 0;  // time windows: the pane's first millisecond
    int64_t count = 0;
    int64_t last_timestamp = -1;
    std::string acc;
    HeldInput first;
  };
  struct Group {
    std::deque<Pane> panes;  // by start (time) or arrival (count)
    bool pending = false;    // records not yet in an emitted window
  };
  using Groups = std::map<std::string, Group, std::less<>>;

  Status add_to(Pane& pane, const streams_record& record);
  Pane* open_pane(Group& group, size_t at, int64_t start, const HeldInput& input, Status* status);
  Pane* time_pane(Group& group, int64_t start, const HeldInput& input, Status* status);
  Status emit(const std::string& key, const std::deque<Pane>& panes, size_t first, size_t end,
              int64_t timestamp_ms);
  void drop_front(Group& group);
  Status close_until(int64_t limit);
  Status close_all();
  const std::string* key_of(const Groups::value_type& entry) const;

  bool by_time_;
  int64_t size_, slide_, panes_per_window_;
  int64_t lateness_ms_, idle_flush_ms_;
  bool grouped_;
  WindowOps& ops_;
  Groups groups_;
  size_t holds_ = 0;
  int64_t max_timestamp_ = INT64_MIN;
  int64_t closed_until_ = INT64_MIN;  // every window ending at or before is emitted
  int64_t last_input_ms_ = 0;
  std::string merged_, scratch_;
};

}  // namespace streams::pipeline
