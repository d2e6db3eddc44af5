// One stateful step's state on one partition, as its plugin sees it: the
// partition's Store (what the last checkpoint made durable) under a cache of
// the keys read or written since, and the log of changes not yet
// checkpointed, each stamped with the source offset of the input that made
// it.
//
// Checkpoint protocol (partition_state.h drives it): the changes stamped
// before a committed offset are staged, the last one of each key only (a
// key's staged change replaces the one staged before); later ones stay in
// the log. The Store takes the staged changes in one batch with the
// committed offset (at every commit, or less often when a changelog holds
// them). So the Store always holds the state of "every input before its
// checkpoint", which is what a replay from that offset must start from.
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
  // `clock`: the partition's event clock (the highest input timestamp),
  // which outlives the Table.
  Table(Store& store, uint32_t family, std::string name, const Settings& settings,
        const int64_t& clock);

  const std::string& name() const { return name_; }
  const Settings& settings() const { return settings_; }
  void set_settings(const Settings& s) { settings_ = s; }

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
  // changes stamped before `offset`, from the first not yet prepared
  // (mark_prepared), in log order.
  template <class F>
  void each_pending(int64_t offset, F&& f);
  // The changes stamped before `offset` were prepared (sent to the
  // changelog, or written to the Store's pending log).
  void mark_prepared(int64_t offset);
  // The changes stamped before `offset` are committed: the last one of each
  // key replaces what that key had staged, and they leave the log.
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
  Node& change(std::string_view key, int64_t stamp);
  // The number of leading changes of log_ stamped before `offset`; marks
  // the last change of each key among them from `from` on (Entry::last).
  size_t mark_last(size_t from, int64_t offset);
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
  Cache cache_;
  Ring<Change> log_;
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
  const size_t to = mark_last(prepared_, offset);
  for (size_t i = prepared_; i < to; ++i) {
    const Change& c = log_[i];
    if (c.entry->value.last != i + 1) continue;  // a later change of the key follows
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
