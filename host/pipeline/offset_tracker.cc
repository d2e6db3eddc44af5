#include "pipeline/offset_tracker.h"

namespace streams::pipeline {

OffsetTracker::OffsetTracker(uint32_t capacity) : capacity_(capacity ? capacity : 1) {}

uint32_t OffsetTracker::begin(int64_t offset, uint64_t bytes, int64_t timestamp_ms) {
  const uint32_t slot = append(offset, bytes);
  last_begun_ = offset;
  last_begun_ts_ = timestamp_ms;
  return slot;
}

uint32_t OffsetTracker::begin_barrier(int64_t offset) { return append(offset, 0); }

uint32_t OffsetTracker::append(int64_t offset, uint64_t bytes) {
  uint32_t slot;
  if (free_.empty()) {
    // Grows to the most inputs ever in flight at once, then stays.
    slot = static_cast<uint32_t>(entries_.size());
    entries_.emplace_back();
    // release() pushes without allocating; free_ grows when entries_ does
    // (geometrically), not by one slot a time (an allocation an input).
    if (free_.capacity() < entries_.size()) free_.reserve(entries_.capacity());
  } else {
    slot = free_.back();
    free_.pop_back();
  }
  entries_[slot] = Entry{offset, bytes, last_begun_ts_, 1, newest_, kNone};
  in_flight_bytes_ += bytes;
  if (newest_ != kNone)
    entries_[newest_].next = slot;
  else
    oldest_ = slot;
  newest_ = slot;
  return slot;
}

void OffsetTracker::release(uint32_t slot) {
  Entry& e = entries_[slot];
  if (--e.pending != 0) return;
  in_flight_bytes_ -= e.bytes;
  const bool was_oldest = slot == oldest_;
  if (e.prev != kNone)
    entries_[e.prev].next = e.next;
  else
    oldest_ = e.next;
  if (e.next != kNone)
    entries_[e.next].prev = e.prev;
  else
    newest_ = e.prev;
  free_.push_back(slot);
  // Everything before the oldest incomplete input is complete.
  // (A barrier released before any input began leaves it as it was.)
  if (was_oldest) {
    if (oldest_ != kNone) {
      committable_ = entries_[oldest_].offset;
      committable_ts_ = entries_[oldest_].before_ts;
    } else if (last_begun_ >= 0) {
      committable_ = last_begun_ + 1;
      committable_ts_ = last_begun_ts_;
    }
  }
}

}  // namespace streams::pipeline
