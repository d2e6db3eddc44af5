// At-least-once commit tracking for one input partition (data plane).
//
// An input offset becomes committable when its processing has finished and
// every output derived from it has been acknowledged, and the same holds for
// every earlier offset. Entries live in a fixed ring: no allocation per
// message; a full ring is the caller's signal to stop feeding the partition.
//
// Thread: single-threaded; the partition's processing thread, which also
// serves the delivery reports that release holds.
#pragma once

#include <cstdint>
#include <vector>

namespace streams::pipeline {

class OffsetTracker {
 public:
  // `capacity` is rounded up to a power of two (at least 2).
  explicit OffsetTracker(uint32_t capacity);

  bool full() const { return tail_ - head_ == entries_.size(); }
  // Inputs begun and not yet fully acknowledged.
  uint64_t in_flight() const { return tail_ - head_; }

  // Starts tracking `offset` (greater than any offset begun before) with one
  // hold for its processing. Requires !full(). Returns the entry's slot.
  uint32_t begin(int64_t offset);
  // Adds a hold on `slot` for one output in flight.
  void hold(uint32_t slot) { ++entries_[slot].pending; }
  // Releases one hold on `slot` (processing finished, or an output was
  // acknowledged) and advances the committable offset.
  void release(uint32_t slot);

  // One past the last offset that is complete along with all before it, or
  // -1 if none is.
  int64_t committable() const { return committable_; }

 private:
  struct Entry {
    int64_t offset = 0;
    uint32_t pending = 0;
  };
  std::vector<Entry> entries_;
  uint64_t mask_;
  uint64_t head_ = 0;  // oldest entry not yet complete
  uint64_t tail_ = 0;  // next entry to begin
  int64_t committable_ = -1;
};

}  // namespace streams::pipeline
