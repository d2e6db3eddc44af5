#include "state/table.h"

#include <algorithm>
#include <cstring>

namespace streams::state {
namespace {

constexpr size_t kTimeBytes = 8;
// The time field of a versioned value: the version in bits 48-62, the
// write time (kLow48: none) below. An unversioned one is the time itself
// (below 2^48, or -1 for none), as stores before state versions wrote it.
constexpr int64_t kLow48 = (int64_t{1} << 48) - 1;

// The time field of a stored value too short to hold one: never live.
constexpr int64_t kMalformed = INT64_MIN;

int64_t time_field(std::string_view stored) {
  if (stored.size() < kTimeBytes) return kMalformed;
  int64_t t = 0;
  std::memcpy(&t, stored.data(), kTimeBytes);
  return t;
}

int64_t written_at(int64_t f) {
  if (f < 0 || (f >> 48) == 0) return f;
  return (f & kLow48) == kLow48 ? -1 : f & kLow48;
}

uint32_t version_of(int64_t f) { return f < 0 ? 0 : static_cast<uint32_t>(f >> 48); }

int64_t encode_time(int64_t written_ms, uint32_t version) {
  return version == 0 ? written_ms
                      : static_cast<int64_t>(version) << 48 |
                            (written_ms < 0 ? kLow48 : written_ms & kLow48);
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

uint32_t stored_version(std::string_view stored) { return version_of(time_field(stored)); }

Table::Table(Store& store, uint32_t family, std::string name, const Settings& settings,
             const int64_t& clock, const int64_t& input)
    : store_(store),
      family_(family),
      name_(std::move(name)),
      settings_(settings),
      clock_(clock),
      input_(input) {}

bool Table::live(int64_t time) const {
  if (time == kMalformed) return false;
  return settings_.ttl_ms <= 0 || written_at(time) + settings_.ttl_ms > clock_;
}

void Table::encode(int64_t time, std::string_view value, std::string* out) {
  out->resize(kTimeBytes + value.size());
  std::memcpy(out->data(), &time, kTimeBytes);
  if (!value.empty()) std::memcpy(out->data() + kTimeBytes, value.data(), value.size());
}

const std::string* Table::stored(int64_t time, std::string_view value) {
  encode(time, value, &stored_);
  return &stored_;
}

Table::Node* Table::load(std::string_view key, std::string* error) {
  const uint64_t h = Cache::hash(key);
  if (Node* n = cache_.find(key, h)) return n;
  const Found found = store_.get(family_, key, &read_, error);
  if (found == Found::error) return nullptr;
  Node& n = add(key, h);
  if (found == Found::yes) {
    n.value.present = true;
    n.value.time = time_field(read_);
    if (read_.size() > kTimeBytes) n.value.value.assign(read_, kTimeBytes);
  }
  return &n;
}

// A clean entry for `key` (absent), with nothing stored; a reused node
// keeps only its buffers.
Table::Node& Table::add(std::string_view key, uint64_t h) {
  trim_cache();
  Node& n = cache_.insert(key, h);
  Entry& e = n.value;
  e.pending = e.staged = e.last = 0;
  e.open = 0;
  e.present = false;
  e.time = 0;
  e.value.clear();
  ++clean_;
  return n;
}

Found Table::get(std::string_view key, std::string_view* value, std::string* error,
                 uint32_t* version) {
  Node* n = load(key, error);
  if (!n) return Found::error;
  recent_ = n;
  const Entry& e = n->value;
  if (!e.present || !live(e.time)) return Found::no;
  *value = e.value;
  if (version) *version = version_of(e.time);
  return Found::yes;
}

Table::Change& Table::change(std::string_view key, int64_t stamp) {
  Node* n = recent_;
  if (!n || n->key != key) {
    const uint64_t h = Cache::hash(key);
    n = cache_.find(key, h);
    if (!n) n = &add(key, h);
  }
  Entry& e = n->value;
  if (e.open != 0 && e.open - 1 >= serial(prepared_)) {
    Change& c = log_[e.open - 1 - popped_];
    // A change of an input (stamped at or before it) is prepared with the
    // key's earlier one, as is one of the same stamp.
    if (stamp <= input_ || stamp == c.stamp) {
      c.stamp = std::max(c.stamp, stamp);
      return c;
    }
  }
  if (clean(e)) --clean_;
  ++e.pending;
  Change& c = log_.push();
  c.stamp = stamp;
  c.entry = n;
  e.open = serial(log_.size() - 1) + 1;
  return c;
}

void Table::put(std::string_view key, std::string_view value, int64_t stamp, int64_t written_ms,
                uint32_t version) {
  Change& c = change(key, stamp);
  Entry& e = c.entry->value;
  c.time = e.time = encode_time(written_ms < 0 ? clock_ : written_ms, version);
  e.value.assign(value);
  c.value.assign(value);  // into the slot's buffer
  c.present = e.present = true;
}

void Table::erase(std::string_view key, int64_t stamp) {
  Change& c = change(key, stamp);
  Entry& e = c.entry->value;
  c.present = false;
  e.value.clear();
  e.present = false;
}

template <class F>
bool Table::each(std::string_view prefix, F&& visit, std::string* error) {
  // The cached keys with the prefix, in order, merged with the Store's; the
  // cache's version (or erase) wins on a tie.
  std::vector<const Node*> cached;
  cache_.each([&](const Node& n) {
    if (starts_with(n.key, prefix)) cached.push_back(&n);
  });
  std::sort(cached.begin(), cached.end(),
            [](const Node* a, const Node* b) { return a->key < b->key; });
  size_t next = 0;
  bool more = true;
  auto visit_cached = [&](const Node& n) {
    const Entry& e = n.value;
    if (e.present && !visit(std::string_view(n.key), e.time, std::string_view(e.value))) {
      more = false;
    }
  };
  auto cached_before = [&](std::string_view bound) {
    for (; more && next < cached.size() && cached[next]->key < bound; ++next) {
      visit_cached(*cached[next]);
    }
  };
  struct Ctx {
    Table& table;
    decltype(cached_before)& before;
    F& visit;
    bool& more;
  } ctx{*this, cached_before, visit, more};
  auto on_stored = [](void* p, std::string_view key, std::string_view stored) {
    Ctx& c = *static_cast<Ctx*>(p);
    c.before(key);
    if (!c.more) return false;
    if (c.table.cache_.find(key, Cache::hash(key))) return true;  // the cache's version
    const std::string_view value = stored.size() > kTimeBytes ? stored.substr(kTimeBytes) : "";
    if (!c.visit(key, time_field(stored), value)) c.more = false;
    return c.more;
  };
  if (!store_.scan(family_, prefix, on_stored, &ctx, error)) return false;
  // The cache's keys after the Store's last.
  for (; more && next < cached.size(); ++next) visit_cached(*cached[next]);
  return true;
}

bool Table::scan(std::string_view prefix, Store::Visit visit, void* ctx, std::string* error) {
  return each(
      prefix,
      [&](std::string_view key, int64_t time, std::string_view value) {
        return !live(time) || visit(ctx, key, value);
      },
      error);
}

bool Table::scan_versioned(std::string_view prefix, VersionedVisit visit, void* ctx,
                           std::string* error) {
  return each(
      prefix,
      [&](std::string_view key, int64_t time, std::string_view value) {
        return !live(time) || visit(ctx, key, value, version_of(time));
      },
      error);
}

int64_t Table::purge_expired(int64_t stamp, std::string* error) {
  if (settings_.ttl_ms <= 0) return 0;
  std::vector<std::string> expired;
  const bool ok = each(
      "",
      [&](std::string_view key, int64_t time, std::string_view) {
        if (!live(time)) expired.emplace_back(key);
        return true;
      },
      error);
  if (!ok) return -1;
  for (const std::string& key : expired) erase(key, stamp);
  return static_cast<int64_t>(expired.size());
}

void Table::mark_last(size_t from, size_t to, int64_t offset) {
  for (size_t i = from; i < to; ++i) {
    if (log_[i].stamp < offset) log_[i].entry->value.last = static_cast<uint32_t>(i + 1);
  }
}

size_t Table::leading(int64_t offset) const {
  size_t to = 0;
  while (to < prepared_ && log_[to].stamp < offset) ++to;
  return to;
}

void Table::swap_slots(size_t i, size_t j) {
  Entry& a = log_[i].entry->value;
  Entry& b = log_[j].entry->value;
  const bool a_open = a.open == serial(i) + 1, b_open = b.open == serial(j) + 1;
  std::swap(log_[i], log_[j]);
  if (a_open) a.open = serial(j) + 1;
  if (b_open) b.open = serial(i) + 1;
}

bool Table::can_prepare(int64_t offset) const {
  for (size_t i = prepared_; i < log_.size(); ++i) {
    if (log_[i].stamp >= offset && log_[i].stamp <= input_) return false;
  }
  return true;
}

void Table::mark_prepared(int64_t offset) {
  // The changes stamped before `offset` move ahead of the others; both keep
  // their order (a key's changes stay in stamp order). Stamps only grow, so
  // the others (made between inputs, stamped `offset`) already come last:
  // nothing moves unless a caller broke that.
  size_t to = prepared_;
  for (size_t i = prepared_; i < log_.size(); ++i) {
    if (log_[i].stamp >= offset) continue;
    for (size_t j = i; j > to; --j) swap_slots(j - 1, j);
    ++to;
  }
  prepared_ = to;
}

void Table::stage(int64_t offset) {
  const size_t to = leading(offset);
  mark_last(0, to, offset);
  for (size_t i = 0; i < to; ++i) {
    Change& c = log_.front();
    Entry& e = c.entry->value;
    if (e.last == i + 1) {  // the key's last change before `offset`
      if (e.staged == 0) {
        if (staged_count_ == staged_.size()) staged_.emplace_back();
        e.staged = static_cast<uint32_t>(++staged_count_);
      }
      Staged& s = staged_[e.staged - 1];
      s.entry = c.entry;
      if (c.present) encode(c.time, c.value, &s.stored);  // into the slot's buffer
      s.present = c.present;
    }
    if (e.open == serial(0) + 1) e.open = 0;
    --e.pending;  // still staged: not clean
    log_.pop_front();
    ++popped_;
    --prepared_;
  }
}

void Table::unstage() {
  for (size_t i = 0; i < staged_count_; ++i) {
    Entry& e = staged_[i].entry->value;
    e.staged = 0;
    if (clean(e)) ++clean_;
  }
  staged_count_ = 0;
}

// Drops clean entries once there are too many; they are read again from
// the Store when needed. Entries with changes logged or staged stay.
void Table::trim_cache() {
  if (clean_ < kCacheEntries) return;
  recent_ = nullptr;
  std::vector<Node*> drop;
  cache_.each([&](Node& n) {
    if (clean(n.value) && clean_ - drop.size() > kCacheEntries / 2) drop.push_back(&n);
  });
  for (Node* n : drop) cache_.erase(*n);
  clean_ -= drop.size();
}

}  // namespace streams::state
