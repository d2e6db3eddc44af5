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
// State-backed (a step that declares `state:`): the panes are entries of
// the step's state Table (a PaneStore), written as records are added, so
// they are durable with the offsets of the inputs before them and a
// restarted host goes on with them instead of reading their inputs again.
// Panes then hold no input: an output is the current input's (or the idle
// stand-in's, Chain::tick), and a pane keeps only its first input's origin,
// for error reports. Open panes are read from the store on first use; a
// store written under other window settings has its panes emitted, one
// result per group, before the first record is added.
//
// Thread: the partition's processing thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <streams/plugin_abi.h>

#include "pipeline/held_input.h"
#include "pipeline/operators/reduce.h"
#include "pipeline/pane_queue.h"
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

// Where state-backed windows keep their panes: a step's state Table, each
// change stamped with the input under way (partition_state.h).
class PaneStore {
 public:
  virtual ~PaneStore() = default;
  virtual void put(std::string_view key, std::string_view value) = 0;
  virtual void erase(std::string_view key) = 0;
  // *found and *value (when found). False on a store failure (logged).
  virtual bool get(std::string_view key, std::string* value, bool* found) = 0;
  // visit(ctx, key, value) for each entry with `prefix`, in key order.
  using Visit = bool (*)(void* ctx, std::string_view key, std::string_view value);
  virtual bool scan(std::string_view prefix, Visit visit, void* ctx) = 0;
  // The store may be read: the partition's state is resolved and an input
  // (or an idle stand-in) is under way.
  virtual bool ready() const = 0;
  // The origin of the partition's input at `offset`.
  virtual streams_origin origin(int64_t offset) const = 0;
};

class Windows {
 public:
  // `grouped`: records come with a group key. `store` (null: none, panes
  // hold their inputs) outlives the Windows.
  Windows(const operators::ReduceSettings& settings, bool grouped, WindowOps& ops,
          PaneStore* store = nullptr);

  // Adds `record` (its event time `timestamp_ms`) to group `key` (null: the
  // single group). `input` is the record's input, held if it opens a pane.
  // A late record: Status::reported with *late set, for the caller to report.
  Status add(const std::string* key, const streams_record& record, int64_t timestamp_ms,
             const HeldInput& input, int64_t now_ms, std::string* late);
  // Closes every time window after idle_flush_ms without input.
  Status tick(int64_t now_ms);
  // End of input: emits what is not yet emitted and releases every hold.
  Status finish();
  // Inputs held by open panes (none when state-backed).
  size_t holds() const { return holds_; }

 private:
  struct Pane {
    int64_t start = 0;  // time windows: the pane's first millisecond; count: a sequence
    int64_t count = 0;
    int64_t last_timestamp = -1;
    int64_t max_event = INT64_MIN;  // the highest event time added
    std::string acc;
    HeldInput first;
  };
  struct Group {
    PaneQueue<Pane> panes;  // by start (time) or arrival (count)
    bool pending = false;   // records not yet in an emitted window
  };
  using Groups = std::map<std::string, Group, std::less<>>;

  // State-backed: reads the store (once), emitting panes kept under other settings.
  Status load();
  Status load_if_ready() { return !store_ || loaded_ || !store_->ready() ? Status::ok : load(); }
  // Writes a pane's entry (pending: the group's flag, kept by its last pane).
  void save(const std::string& group, const Pane& pane, bool pending);
  void save_meta();
  const std::string& pane_key(const std::string& group, int64_t start);

  Status add_to(Pane& pane, const streams_record& record);
  Pane* open_pane(Group& group, size_t at, int64_t start, const HeldInput& input, Status* status);
  Pane* time_pane(Group& group, int64_t start, const HeldInput& input, Status* status);
  Status emit(const std::string& key, const PaneQueue<Pane>& panes, size_t first, size_t end,
              int64_t timestamp_ms);
  void drop_front(const std::string& name, Group& group);
  Status emit_foreign();
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
  PaneStore* store_;
  bool loaded_ = false;
  bool meta_saved_ = false;  // the store's settings entry is this one's
  std::string key_, value_;  // store keys and values, reused
};

}  // namespace streams::pipeline
