// The Table's cache of keys: an open-addressing index from keys to nodes
// that do not move. A lookup reads one slot (a tag of the key's hash and a
// node number; linear probing, at most half full) and the node it names,
// which holds the key (a std::string: short keys inline); a std::unordered_map
// walks a bucket's chain of separately allocated nodes instead, two or three
// dependent cache misses more per lookup (measured: plugin_call_bench's
// BM_StateCount*, README "Platform state").
//
// Nodes live in a deque, so a Node& stays valid until erase() of that node;
// an erased node is reused by a later insert with its members as they were
// left (a std::string keeps its capacity): insert() resets only the key.
//
// Thread: one thread at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace streams::state {

template <class V>
class KeyIndex {
 public:
  struct Node {
    std::string key;
    V value{};
    bool live = false;
  };

  static uint64_t hash(std::string_view key) { return std::hash<std::string_view>{}(key); }

  size_t size() const { return size_; }

  // The node of `key`, whose hash() is `h`; null if absent.
  Node* find(std::string_view key, uint64_t h) {
    if (slots_.empty()) return nullptr;
    const uint32_t tag = tag_of(h);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.node == 0) return nullptr;
      if (s.tag == tag) {
        Node& n = nodes_[s.node - 1];
        if (n.key == key) return &n;
      }
    }
  }

  // Adds `key` (hash `h`), which is absent. Its value is V{} in a new node,
  // or as it was left in the erased node it reuses: the caller sets it.
  Node& insert(std::string_view key, uint64_t h) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    uint32_t number;
    if (!free_.empty()) {
      number = free_.back();
      free_.pop_back();
    } else {
      nodes_.emplace_back();
      number = static_cast<uint32_t>(nodes_.size());
    }
    Node& n = nodes_[number - 1];
    n.key.assign(key);
    n.live = true;
    place(h, number);
    ++size_;
    return n;
  }

  // Removes `node`; its memory is kept for a later insert.
  void erase(Node& node) {
    size_t i = hash(node.key) & mask_;
    while (slots_[i].node == 0 || &nodes_[slots_[i].node - 1] != &node) i = (i + 1) & mask_;
    const uint32_t number = slots_[i].node;
    // Backward shift: later slots of the probe run move up into the hole
    // unless their home position lies after it.
    for (size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      if (slots_[j].node == 0) break;
      const size_t home = hash(nodes_[slots_[j].node - 1].key) & mask_;
      if (((j - home) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Slot{};
    node.live = false;
    free_.push_back(number);
    --size_;
  }

  // f(Node&) for each node in the index, in no particular order; f must not
  // insert or erase.
  template <class F>
  void each(F&& f) {
    for (Node& n : nodes_) {
      if (n.live) f(n);
    }
  }

 private:
  struct Slot {
    uint32_t tag = 0;
    uint32_t node = 0;  // 1 + the node's index in nodes_; 0: empty
  };

  static uint32_t tag_of(uint64_t h) { return static_cast<uint32_t>(h >> 32); }
  void place(uint64_t h, uint32_t number) {
    size_t i = h & mask_;
    while (slots_[i].node != 0) i = (i + 1) & mask_;
    slots_[i] = Slot{tag_of(h), number};
  }
  void grow() {
    std::vector<Slot> old(slots_.empty() ? 16 : slots_.size() * 2);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.node != 0) place(hash(nodes_[s.node - 1].key), s.node);
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  std::deque<Node> nodes_;
  std::vector<uint32_t> free_;
  size_t size_ = 0;
};

}  // namespace streams::state
