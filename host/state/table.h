// One stateful step's state on one partition, as its plugin sees it: the
// partition's Store (what the last checkpoint made durable) under a cache of
// the keys read or written since, and the log of changes not yet
// checkpointed, each stamped with the source offset of the input that made
// it.
//
// The log holds prepared batches (each the last change of its keys, sent
// to the changelog or the Store's pending log) and, after them, the
// unprepared segment: one change per key, which a later change of the key
// replaces (taking its stamp), so memory is bounded by keys, not changes.
// Prepares are at the processed end (partition_state.h): every change of
// an input is stamped before it. The one exception is a change made between
// inputs (a window closed by time), stamped with the next input's offset N:
// a prepare at N must still see the key's value before N, so such a change
// never replaces an older-stamped one; it takes a slot of its own, which a
// prepare at N leaves unprepared.
//
// Checkpoint protocol (partition_state.h drives it): at a committed offset
// (a prepared one) the prepared changes before it are staged, the last one
// of each key only (a key's staged change replaces the one staged before).
// The Store takes the staged changes in one batch with the committed offset
// (at every commit, or less often when a changelog holds them). So the
// Store always holds the state of "every input before its checkpoint",
// which is what a replay from that offset must start from.
//
// Values are stored with the event time of their write (8 bytes, little
// endian, before the value), for ttl_ms, and the state version of the
// function that wrote them (ABI 1.5) in the high bits of those 8 bytes
// when not 0, so stores written before versions read as version 0.
//
// Cost: a get or put is a hash lookup (and, for a key not cached, a Store
// read; a put of the key just read reuses its lookup); a scan sorts the
// cached keys with its prefix, so it is for occasional use. Clean entries
// past kCacheEntries are dropped. The cache and the log keep the time field
// apart from the value, so values of up to 15 bytes (counters, ids) sit in
// their entry (std::string's inline buffer): no heap read per get; the
// stored form is built only where a value leaves the Table (each_pending's
// scratch; stage(), into the staged slot each_staged hands out). Logged and
// staged values reuse their slots' buffers: a warm table allocates only for
// keys new to its cache.
//
// Lifetime: PartitionState owns it, for as long as the partition is
// assigned; every Chain of the partition (reloads) uses the same Table.
// Thread: the partition's processing thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "state/key_index.h"
#include "state/ring.h"
#include "state/store.h"

namespace streams::state {

// A step's `state:` settings.
struct Settings {
  int64_t ttl_ms = 0;  // 0: entries never expire
  uint64_t max_value_bytes = uint64_t{1} << 20;
  bool operator==(const Settings& o) const {
    return ttl_ms == o.ttl_ms && max_value_bytes == o.max_value_bytes;
  }
};

constexpr size_t kMaxKeyBytes = 64 * 1024;
constexpr uint32_t kMaxStateVersion = 32767;  // STREAMS_MAX_STATE_VERSION

// The state version a stored value (write time + value) was written with.
uint32_t stored_version(std::string_view stored);

// Clean cache entries (those the Store holds as they are) kept past this
// many are dropped (any clean ones, not the least recently used).
constexpr size_t kCacheEntries = 1 << 18;

class Table {
 public:
  // `clock`: the partition's event clock (the highest input timestamp);
  // `input`: the offset of the input being processed, or of the last one
  // (-1: none yet); a change stamped after it is made between inputs. Both
  // outlive the Table.
  Table(Store& store, uint32_t family, std::string name, const Settings& settings,
        const int64_t& clock, const int64_t& input);

  const std::string& name() const { return name_; }
  const Settings& settings() const { return settings_; }
  void set_settings(const Settings& s) { settings_ = s; }

  // Hints that a get, put or erase of a key whose key_hash() is `h` comes
  // soon: prefetch(h, false) first, prefetch(h, true) later (KeyIndex's
  // prefetch_slot and prefetch_node). They change nothing.
  static uint64_t key_hash(std::string_view key) { return Cache::hash(key); }
  void prefetch(uint64_t h, bool node) const {
    if (node) {
      cache_.prefetch_node(h);
    } else {
      cache_.prefetch_slot(h);
    }
  }

  // *value views the value; valid until the next call on this Table.
  // *version (when given): the state version it was written with.
  Found get(std::string_view key, std::string_view* value, std::string* error,
            uint32_t* version = nullptr);
  // `stamp`: the offset of the input making the change; `written_ms` its
  // event time (ttl_ms counts from it); `version`: the writer's state
  // version (0 to kMaxStateVersion).
  void put(std::string_view key, std::string_view value, int64_t stamp, int64_t written_ms,
           uint32_t version = 0);
  void erase(std::string_view key, int64_t stamp);
  // visit(ctx, key, value) for each live key with `prefix`, in key order,
  // until it returns false.
  bool scan(std::string_view prefix, Store::Visit visit, void* ctx, std::string* error);
  // The same with each value's state version.
  using VersionedVisit = bool (*)(void* ctx, std::string_view key, std::string_view value,
                                  uint32_t version);
  bool scan_versioned(std::string_view prefix, VersionedVisit visit, void* ctx, std::string* error);
  // Erases (as changes stamped `stamp`) every entry expired by ttl_ms.
  // Returns how many, or -1 with *error.
  int64_t purge_expired(int64_t stamp, std::string* error);

  // A key's last change among some not yet checkpointed; `value` null for
  // an erase. Views are valid until f returns.
  struct Pending {
    int64_t stamp;
    std::string_view key;
    const std::string* value;  // stored form (write time + value)
  };
  // Calls f(const Pending&) for the last change of each key among the
  // unprepared changes stamped before `offset`. `offset` must be past every
  // input that made a change (the processed end): a change of a later
  // input may have replaced a key's earlier one.
  template <class F>
  void each_pending(int64_t offset, F&& f);
  // False when an input at or after `offset` changed a key: its change
  // may have replaced the key's value before `offset`, which a prepare at
  // `offset` would then miss.
  bool can_prepare(int64_t offset) const;
  // The unprepared changes stamped before `offset` were prepared (sent to
  // the changelog, or written to the Store's pending log); the others (made
  // between inputs, stamped `offset`) stay unprepared, after them.
  void mark_prepared(int64_t offset);
  // The prepared changes stamped before `offset` (a prepared offset) are
  // committed: the last one of each key replaces what that key had staged,
  // and they leave the log.
  void stage(int64_t offset);
  // Calls f(key, stored) for each staged change (`stored` null for an
  // erase; valid until unstage()), then f may write them to the Store;
  // unstage() once it did.
  template <class F>
  void each_staged(F&& f) const;
  void unstage();
  size_t pending() const { return log_.size(); }
  size_t staged() const { return staged_count_; }
  uint32_t family() const { return family_; }

 private:
  struct Entry {
    int64_t time = 0;   // the stored form's time field (write time, version)
    std::string value;  // empty when absent
    bool present = false;
    uint32_t pending = 0;  // changes of this key in log_
    uint32_t staged = 0;   // 1 + the index of its staged change (0: none)
    uint32_t last = 0;     // scratch: 1 + the index of its last change
    uint64_t open = 0;     // 1 + the serial of its last change in log_ (0: none)
  };
  using Cache = KeyIndex<Entry>;
  using Node = Cache::Node;
  struct Change {
    int64_t stamp = 0;
    Node* entry = nullptr;  // stable: KeyIndex nodes do not move
    int64_t time = 0;
    std::string value;
    bool present = false;
  };
  struct Staged {
    Node* entry = nullptr;
    std::string stored;  // time field + value
    bool present = false;
  };
  static bool clean(const Entry& e) { return e.pending == 0 && e.staged == 0; }

  // Whether a value with time field `time` is visible at the event clock.
  bool live(int64_t time) const;
  // The stored form of (time, value) in *out (stored_ by default).
  const std::string* stored(int64_t time, std::string_view value);
  static void encode(int64_t time, std::string_view value, std::string* out);
  // The cache's node of `key`, read from the Store when not cached (null
  // with *error when the Store failed).
  Node* load(std::string_view key, std::string* error);
  Node& add(std::string_view key, uint64_t h);
  // The log slot of a change of `key` stamped `stamp`: the key's unprepared
  // one when it may take it (see above), else a new one.
  Change& change(std::string_view key, int64_t stamp);
  // The serial of log_[i] (stable while it is in the log).
  uint64_t serial(size_t i) const { return popped_ + i; }
  // Marks the last change of each key among those of log_[from, to)
  // stamped before `offset` (Entry::last).
  void mark_last(size_t from, size_t to, int64_t offset);
  // The number of leading changes of log_ stamped before `offset`.
  size_t leading(int64_t offset) const;
  // Swaps log_[i] and log_[j], keeping their entries' `open` right.
  void swap_slots(size_t i, size_t j);
  void trim_cache();
  // visit(key, time, value) of every key with `prefix` in the Store and
  // the cache, the cache's version first, in key order; stops when visit
  // returns false.
  template <class F>
  bool each(std::string_view prefix, F&& visit, std::string* error);

  Store& store_;
  const uint32_t family_;
  const std::string name_;
  Settings settings_;
  const int64_t& clock_;
  const int64_t& input_;
  Cache cache_;
  Ring<Change> log_;
  uint64_t popped_ = 0;         // changes that left the front of log_
  std::vector<Staged> staged_;  // [0, staged_count_) in use; the rest keep their buffers
  size_t staged_count_ = 0;
  size_t clean_ = 0;     // cache entries that are clean()
  size_t prepared_ = 0;  // leading changes of log_ that were prepared
  // The entry get() found last: a put of the same key needs no lookup.
  Node* recent_ = nullptr;
  std::string read_;    // a Store read, reused
  std::string stored_;  // a stored form handed out, reused
};

template <class F>
void Table::each_pending(int64_t offset, F&& f) {
  const size_t to = log_.size();
  mark_last(prepared_, to, offset);
  for (size_t i = prepared_; i < to; ++i) {
    const Change& c = log_[i];
    if (c.stamp >= offset || c.entry->value.last != i + 1) continue;  // a later change follows
    f(Pending{c.stamp, c.entry->key, c.present ? stored(c.time, c.value) : nullptr});
  }
}

template <class F>
void Table::each_staged(F&& f) const {
  for (size_t i = 0; i < staged_count_; ++i) {
    const Staged& s = staged_[i];
    f(std::string_view(s.entry->key), s.present ? &s.stored : nullptr);
  }
}

}  // namespace streams::state
