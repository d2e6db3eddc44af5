// A FIFO of T in one growing array whose slots are reused: a slot popped
// keeps its members (a std::string its capacity), so a queue that is filled
// and drained at the same pace allocates nothing once warm. push() hands
// back a slot as its last user left it: the caller assigns every field.
//
// Thread: one thread at a time.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace streams::state {

template <class T>
class Ring {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return slots_[(head_ + i) & mask_]; }
  const T& operator[](size_t i) const { return slots_[(head_ + i) & mask_]; }
  T& front() { return slots_[head_]; }
  T& back() { return (*this)[size_ - 1]; }

  // A slot at the back, with its previous contents.
  T& push() {
    if (size_ == slots_.size()) grow();
    ++size_;
    return back();
  }
  void pop_front() {
    head_ = (head_ + 1) & mask_;
    --size_;
  }

 private:
  // Doubles the array, the live slots first, in order.
  void grow() {
    std::vector<T> bigger(slots_.empty() ? 16 : slots_.size() * 2);
    for (size_t i = 0; i < size_; ++i) bigger[i] = std::move((*this)[i]);
    slots_ = std::move(bigger);
    head_ = 0;
    mask_ = slots_.size() - 1;
  }

  std::vector<T> slots_;
  size_t head_ = 0, size_ = 0, mask_ = 0;
};

}  // namespace streams::state
