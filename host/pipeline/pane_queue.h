// The panes of one window group, oldest first: a vector whose front is an
// index, so that closing a window (drop the front) and opening the next
// (append) reuse the slots and their buffers instead of allocating (a
// std::deque allocates and frees a node every few panes). The dropped
// slots are reclaimed by moving the live ones down once they are the
// majority: amortised O(1) a drop. insert() in the middle (an out-of-order
// time pane) moves the panes after it.
//
// References stay valid until the next insert, emplace_back or pop_front.
// Thread: one thread at a time.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace streams::pipeline {

template <class T>
class PaneQueue {
 public:
  bool empty() const { return head_ == slots_.size(); }
  size_t size() const { return slots_.size() - head_; }
  T& operator[](size_t i) { return slots_[head_ + i]; }
  const T& operator[](size_t i) const { return slots_[head_ + i]; }
  T& front() { return slots_[head_]; }
  T& back() { return slots_.back(); }
  const T& back() const { return slots_.back(); }
  const T* begin() const { return slots_.data() + head_; }
  const T* end() const { return slots_.data() + slots_.size(); }

  T& emplace_back() { return insert(size(), T()); }
  // Inserts `value` before the `at`-th pane.
  T& insert(size_t at, T&& value) {
    if (head_ > 0 && at == 0) {  // room before the front
      slots_[--head_] = std::move(value);
      return slots_[head_];
    }
    compact();
    return *slots_.insert(slots_.begin() + static_cast<std::ptrdiff_t>(head_ + at),
                          std::move(value));
  }
  void pop_front() {
    ++head_;
    if (empty()) {
      slots_.clear();  // keeps the capacity
      head_ = 0;
    }
  }

 private:
  // Moves the live panes to the start once the dropped ones are at least
  // as many.
  void compact() {
    if (head_ == 0 || head_ < size()) return;
    std::move(slots_.begin() + static_cast<std::ptrdiff_t>(head_), slots_.end(), slots_.begin());
    slots_.resize(size());
    head_ = 0;
  }

  std::vector<T> slots_;
  size_t head_ = 0;  // the front's slot; those before it were dropped
};

}  // namespace streams::pipeline
