// A FIFO of T in blocks of kBlock slots whose slots are reused: a slot
// popped keeps its members (a std::string its capacity), and a block emptied
// at the front goes back to the end when the queue needs one, so a queue
// filled and drained at the same pace allocates nothing once warm. Growing
// adds a block and moves nothing (a doubling array touched twice its peak in
// fresh memory, each page a fault: a third of the counter benchmark's `put`,
// README "Platform state"). push() hands back a slot as its last user left
// it: the caller assigns every field.
//
// Thread: one thread at a time.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

namespace streams::state {

template <class T, size_t kBlock = 1024>
class Ring {
  static_assert((kBlock & (kBlock - 1)) == 0, "kBlock is a power of two");

 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) {
    const size_t j = head_ + i;
    return blocks_[j / kBlock][j % kBlock];
  }
  const T& operator[](size_t i) const {
    const size_t j = head_ + i;
    return blocks_[j / kBlock][j % kBlock];
  }
  T& front() { return (*this)[0]; }
  T& back() { return (*this)[size_ - 1]; }

  // A slot at the back, with its previous contents.
  T& push() {
    if (head_ + size_ == blocks_.size() * kBlock) add_block();
    ++size_;
    return back();
  }
  // An emptied ring starts again at the first slot of its front block, so
  // a queue that empties often reuses the same warm slots.
  void pop_front() {
    if (--size_ == 0 && !blocks_.empty()) {
      head_ = 0;
      return;
    }
    if (++head_ == kBlock) {
      spare_.push_back(std::move(blocks_.front()));
      blocks_.pop_front();
      head_ = 0;
    }
  }

 private:
  void add_block() {
    if (spare_.empty()) {
      blocks_.push_back(std::make_unique<T[]>(kBlock));
    } else {
      blocks_.push_back(std::move(spare_.back()));
      spare_.pop_back();
    }
  }

  std::deque<std::unique_ptr<T[]>> blocks_;
  std::vector<std::unique_ptr<T[]>> spare_;  // emptied blocks, kept for reuse
  size_t head_ = 0;                          // the front's slot in blocks_.front()
  size_t size_ = 0;
};

}  // namespace streams::state
