// At-least-once commit tracking for one input partition (data plane).
//
// An input offset becomes committable when its processing has finished and
// every output derived from it has been acknowledged, and the same holds for
// every earlier offset. Only incomplete inputs take a slot: an input held
// for a long time (an open batch or window) does not stop later ones that
// complete from freeing theirs. Slots come from a pool that grows to the
// most inputs ever in flight at once (so no allocation per message once warm)
// up to a capacity; a full pool is the caller's signal to stop feeding the
// partition.
//
// Thread: single-threaded; the partition's processing thread, which also
// serves the delivery reports that release holds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace streams::pipeline {

class OffsetTracker {
 public:
  // At most `capacity` (at least 1) incomplete inputs at a time.
  explicit OffsetTracker(uint32_t capacity);

  bool full() const { return free_.empty() && entries_.size() == capacity_; }
  // Inputs begun and not yet complete, and the bytes they were begun with.
  uint64_t in_flight() const { return entries_.size() - free_.size(); }
  uint64_t in_flight_bytes() const { return in_flight_bytes_; }

  // Starts tracking `offset` (greater than any offset begun before), an
  // input of `bytes` with record timestamp `timestamp_ms` (-1: unknown),
  // with one hold for its processing. Requires !full(). Returns the entry's
  // slot, valid until the entry completes.
  uint32_t begin(int64_t offset, uint64_t bytes = 0, int64_t timestamp_ms = -1);
  // Starts a barrier at `offset` (at least one past the last offset begun):
  // an entry with one hold, not an input, that keeps every offset past
  // `offset` uncommitted until released; the input at `offset` may still
  // begin(). Outputs made between inputs (a window closed by a time limit)
  // hold it, so none is committed past before they are acknowledged.
  // Requires !full().
  uint32_t begin_barrier(int64_t offset);
  // Adds a hold on `slot` (an output in flight, a batch holding the input).
  void hold(uint32_t slot) { ++entries_[slot].pending; }
  // Releases one hold on `slot`; the entry completes when none is left.
  void release(uint32_t slot);
  // The last offset begun, or -1.
  int64_t last_begun() const { return last_begun_; }
  // The offset of the incomplete input in `slot`.
  int64_t offset(uint32_t slot) const { return entries_[slot].offset; }

  // One past the last offset that is complete along with all before it, or
  // -1 if none is.
  int64_t committable() const { return committable_; }
  // The record timestamp of the input at committable() - 1 (the newest
  // complete along with all before it), or -1 when unknown or none.
  int64_t committable_timestamp() const { return committable_ts_; }

 private:
  static constexpr uint32_t kNone = ~0u;
  uint32_t append(int64_t offset, uint64_t bytes);
  struct Entry {
    int64_t offset = 0;
    uint64_t bytes = 0;
    // The timestamp of the input begun before this entry: committable's
    // when this entry is the oldest incomplete.
    int64_t before_ts = -1;
    uint32_t pending = 0;
    uint32_t prev = kNone, next = kNone;  // the incomplete entries, oldest first
  };
  size_t capacity_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_;  // free slots (a stack); capacity >= entries_.size()
  uint32_t oldest_ = kNone, newest_ = kNone;
  int64_t last_begun_ = -1;
  int64_t committable_ = -1;
  int64_t last_begun_ts_ = -1;
  int64_t committable_ts_ = -1;
  uint64_t in_flight_bytes_ = 0;
};

}  // namespace streams::pipeline
