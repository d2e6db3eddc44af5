#include "pipeline/offset_tracker.h"

namespace streams::pipeline {
namespace {

uint32_t round_up_pow2(uint32_t n) {
  uint32_t p = 2;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

OffsetTracker::OffsetTracker(uint32_t capacity)
    : entries_(round_up_pow2(capacity)), mask_(entries_.size() - 1) {}

uint32_t OffsetTracker::begin(int64_t offset) {
  const auto slot = static_cast<uint32_t>(tail_ & mask_);
  entries_[slot] = Entry{offset, 1};
  ++tail_;
  return slot;
}

void OffsetTracker::release(uint32_t slot) {
  --entries_[slot].pending;
  while (head_ != tail_) {
    const Entry& oldest = entries_[head_ & mask_];
    if (oldest.pending != 0) break;
    committable_ = oldest.offset + 1;
    ++head_;
  }
}

}  // namespace streams::pipeline
