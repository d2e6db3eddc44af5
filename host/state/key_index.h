// The Table's cache of keys: an open-addressing index from keys to nodes
// that do not move. A lookup reads one slot (a tag of the key's hash and a
// node number; linear probing, at most half full) and the node it names,
// which holds the key (a std::string: short keys inline); a std::unordered_map
// walks a bucket's chain of separately allocated nodes instead, two or three
// dependent cache misses more per lookup (measured: plugin_call_bench's
// BM_StateCount*, README "Platform state").
//
// Nodes live in chunks that never move (16 nodes, then 32, 64, ...: a
// node's number names its chunk by its highest bit, so reaching it reads
// the short chunk table and the node, where a std::deque of ~100-byte nodes
// kept four a block and read a block map of its own). A Node& stays valid
// until erase() of that node; an erased node is reused by a later insert
// with its members as they were left (a std::string keeps its capacity):
// insert() resets only the key.
//
// Prefetch: a caller that knows a key it will look up soon may call
// prefetch_slot(h) and, once that slot had time to arrive, prefetch_node(h),
// so that find() then reads cached lines (a lookup over more keys than the
// CPU caches hold otherwise waits on two memory reads in a row).
//
// Thread: one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
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
        Node& n = node(s.node);
        if (n.key == key) return &n;
      }
    }
  }

  // Hints that find(., h) comes soon: the first asks for its home slot's
  // line, the second (later) for the node its tag names. Neither waits for
  // memory except prefetch_node on a slot not yet cached; neither changes
  // anything.
  void prefetch_slot(uint64_t h) const {
    if (!slots_.empty()) prefetch(&slots_[h & mask_]);
  }
  void prefetch_node(uint64_t h) const {
    if (slots_.empty()) return;
    const uint32_t tag = tag_of(h);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.node == 0) return;
      if (s.tag == tag) {
        const char* at = reinterpret_cast<const char*>(&node(s.node));
        prefetch(at);
        prefetch(at + sizeof(Node) - 1);
        return;
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
      number = static_cast<uint32_t>(++count_);
      if (chunk_of(number) == chunks_.size()) {
        chunks_.push_back(std::make_unique<Node[]>(size_t{kFirstChunk} << chunks_.size()));
      }
    }
    Node& n = node(number);
    n.key.assign(key);
    n.live = true;
    place(h, number);
    ++size_;
    return n;
  }

  // Removes `node`; its memory is kept for a later insert.
  void erase(Node& node) {
    size_t i = hash(node.key) & mask_;
    while (slots_[i].node == 0 || &this->node(slots_[i].node) != &node) i = (i + 1) & mask_;
    const uint32_t number = slots_[i].node;
    // Backward shift: later slots of the probe run move up into the hole
    // unless their home position lies after it.
    for (size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      if (slots_[j].node == 0) break;
      const size_t home = hash(this->node(slots_[j].node).key) & mask_;
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
    for (uint32_t number = 1; number <= count_; ++number) {
      Node& n = node(number);
      if (n.live) f(n);
    }
  }

 private:
  struct Slot {
    uint32_t tag = 0;
    uint32_t node = 0;  // the node's number (1 and on); 0: empty
  };

  // __builtin_prefetch, kept: GCC 12 takes a function whose only effect is
  // a prefetch for one without effects and drops the calls to it
  // (-fipa-pure-const); an empty volatile asm is an effect it keeps.
  static void prefetch(const void* at) {
    __builtin_prefetch(at);
    asm volatile("");
  }
  static constexpr uint32_t kFirstChunk = 16;
  // Chunk c holds the nodes numbered kFirstChunk * (2^c - 1) + 1 and on.
  static size_t chunk_of(uint32_t number) {
    const unsigned long long n = (number - 1) / kFirstChunk + 1;  // 1 and on
    return 63 - static_cast<size_t>(__builtin_clzll(n));
  }
  Node& node(uint32_t number) const {
    const size_t c = chunk_of(number);
    return chunks_[c][number - 1 - kFirstChunk * ((size_t{1} << c) - 1)];
  }
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
      if (s.node != 0) place(hash(node(s.node).key), s.node);
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  std::vector<std::unique_ptr<Node[]>> chunks_;
  size_t count_ = 0;  // nodes made (live or in free_)
  std::vector<uint32_t> free_;
  size_t size_ = 0;
};

}  // namespace streams::state
