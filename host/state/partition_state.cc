#include "state/partition_state.h"

#include <cstring>

#include "common/log.h"

namespace streams::state {
namespace {

// The pending log's family: a name no step's state is stored under.
const char* const kLogFamily = "\x01pending";

// Pending log keys sort by stamp, then by the order of the changes.
std::string log_key(int64_t stamp, uint64_t sequence) {
  std::string key(16, '\0');
  const uint64_t s = static_cast<uint64_t>(stamp + 1);  // stamps are >= -1
  for (int i = 0; i < 8; ++i) {
    key[i] = static_cast<char>(s >> (56 - 8 * i));
    key[8 + i] = static_cast<char>(sequence >> (56 - 8 * i));
  }
  return key;
}

int64_t stamp_of(std::string_view key) {
  uint64_t s = 0;
  for (int i = 0; i < 8; ++i) s = (s << 8) | static_cast<uint8_t>(key[i]);
  return static_cast<int64_t>(s) - 1;
}

template <class T>
void append(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof value);
}

template <class T>
bool take(std::string_view* in, T* value) {
  if (in->size() < sizeof(T)) return false;
  std::memcpy(value, in->data(), sizeof(T));
  in->remove_prefix(sizeof(T));
  return true;
}

// A change: 'c', present, the step's name, the key, then the stored value.
std::string encode_change(const std::string& step, const Table::Pending& p) {
  std::string out;
  out.reserve(8 + step.size() + p.key.size() + (p.value ? p.value->size() : 0));
  out.push_back('c');
  out.push_back(p.value ? 1 : 0);
  append(&out, static_cast<uint16_t>(step.size()));
  out.append(step);
  append(&out, static_cast<uint32_t>(p.key.size()));
  out.append(p.key);
  if (p.value) out.append(*p.value);
  return out;
}

// A clock mark: 't' and the event clock of the inputs up to its stamp.
std::string encode_clock(int64_t clock) {
  std::string out("t");
  append(&out, clock);
  return out;
}

struct LogEntry {
  int64_t stamp;
  std::string key;  // the log's key
  char kind;
  bool present = false;
  std::string step, state_key, stored;
  int64_t clock = -1;
};

bool decode(std::string_view key, std::string_view value, LogEntry* e) {
  if (key.size() != 16 || value.empty()) return false;
  e->stamp = stamp_of(key);
  e->key.assign(key);
  e->kind = value[0];
  value.remove_prefix(1);
  if (e->kind == 't') return take(&value, &e->clock);
  uint8_t present = 0;
  uint16_t name = 0;
  uint32_t size = 0;
  if (e->kind != 'c' || !take(&value, &present) || !take(&value, &name) || value.size() < name) {
    return false;
  }
  e->present = present != 0;
  e->step.assign(value.substr(0, name));
  value.remove_prefix(name);
  if (!take(&value, &size) || value.size() < size) return false;
  e->state_key.assign(value.substr(0, size));
  e->stored.assign(value.substr(size));
  return true;
}

}  // namespace

PartitionState::PartitionState(std::unique_ptr<Store> store)
    : store_(std::move(store)), opened_(store_->checkpoint()) {
  clock_ = checkpoint_clock_ = opened_.event_time_ms;
}

std::unique_ptr<PartitionState> PartitionState::open(std::unique_ptr<Store> store,
                                                     std::string* error) {
  std::unique_ptr<PartitionState> state(new PartitionState(std::move(store)));
  if (!state->store_->family(kLogFamily, &state->log_family_, error)) return nullptr;
  return state;
}

Table* PartitionState::table(const std::string& name, const Settings& settings,
                             std::string* error) {
  if (Table* t = find(name)) {
    t->set_settings(settings);
    return t;
  }
  uint32_t family = 0;
  if (!store_->family(name, &family, error)) return nullptr;
  tables_.push_back(std::make_unique<Table>(*store_, family, name, settings, clock_));
  return tables_.back().get();
}

Table* PartitionState::find(const std::string& name) const {
  for (const auto& t : tables_) {
    if (t->name() == name) return t.get();
  }
  return nullptr;
}

int64_t PartitionState::clock_before(int64_t offset) {
  while (!clock_marks_.empty() && clock_marks_.front().first < offset) {
    checkpoint_clock_ = clock_marks_.front().second;
    clock_marks_.pop_front();
  }
  return checkpoint_clock_;
}

bool PartitionState::resolve(int64_t first, std::string* error) {
  std::vector<LogEntry> entries;
  bool readable = true;
  struct Ctx {
    std::vector<LogEntry>* entries;
    bool* readable;
  } ctx{&entries, &readable};
  auto visit = [](void* p, std::string_view key, std::string_view value) {
    Ctx& c = *static_cast<Ctx*>(p);
    c.entries->emplace_back();
    if (!decode(key, value, &c.entries->back())) *c.readable = false;
    return *c.readable;
  };
  if (!store_->scan(log_family_, "", visit, &ctx, error)) return false;
  if (!readable) {
    *error = "the pending log of the state store cannot be read (written by another version?)";
    return false;
  }
  int64_t clock = opened_.event_time_ms;
  size_t applied = 0, dropped = 0;
  writes_.clear();
  for (const LogEntry& e : entries) {
    if (e.stamp < first) {
      if (e.kind == 't') {
        clock = std::max(clock, e.clock);
      } else {
        uint32_t family = 0;
        if (!store_->family(e.step, &family, error)) return false;
        writes_.push_back({family, e.state_key, e.present ? &e.stored : nullptr});
        ++applied;
      }
    } else if (e.kind == 'c') {
      ++dropped;
    }
    writes_.push_back({log_family_, e.key, nullptr});
  }
  if (entries.empty() && opened_.offset > first) {
    log::warn("state: the store's checkpoint is at offset " + std::to_string(opened_.offset) +
              " but the source resumes at " + std::to_string(first) +
              " (its committed offset moved back): the inputs between are applied again");
  }
  if (!store_->commit(writes_, Checkpoint{first, clock}, error)) return false;
  writes_.clear();
  if (applied > 0 || dropped > 0) {
    log::info("state: resolved at offset " + std::to_string(first) + ": " +
              std::to_string(applied) + " change(s) of committed inputs applied, " +
              std::to_string(dropped) + " of inputs to be read again dropped");
  }
  clock_ = checkpoint_clock_ = clock;
  resolved_ = true;
  return true;
}

bool PartitionState::prepare(int64_t offset, std::string* error) {
  if (offset <= prepared_ || offset <= store_->checkpoint().offset) return true;
  std::deque<std::string> keys, values;  // stable while writes_ points into them
  writes_.clear();
  for (const auto& t : tables_) {
    t->each_pending(offset, /*all=*/false, [&](const Table::Pending& p) {
      keys.push_back(log_key(p.stamp, sequence_++));
      values.push_back(encode_change(t->name(), p));
      writes_.push_back({log_family_, keys.back(), &values.back()});
    });
  }
  int64_t clock = -1, at = -1;
  for (const auto& [mark_offset, mark_clock] : clock_marks_) {
    if (mark_offset >= offset) break;
    at = mark_offset;
    clock = mark_clock;
  }
  if (at >= 0) {
    keys.push_back(log_key(at, sequence_++));
    values.push_back(encode_clock(clock));
    writes_.push_back({log_family_, keys.back(), &values.back()});
  }
  if (!writes_.empty() && !store_->commit(writes_, store_->checkpoint(), error)) return false;
  writes_.clear();
  for (auto& t : tables_) t->mark_prepared(offset);
  for (std::string& k : keys) logged_.push_back(std::move(k));
  logged_until_.emplace_back(offset, logged_.size());
  prepared_ = offset;
  return true;
}

bool PartitionState::checkpoint(int64_t offset, std::string* error) {
  if (offset <= store_->checkpoint().offset) return true;
  writes_.clear();
  for (const auto& t : tables_) {
    const uint32_t family = t->family();
    t->each_pending(offset, /*all=*/true, [&](const Table::Pending& p) {
      writes_.push_back({family, p.key, p.value});
    });
  }
  // The pending log entries of the prepares this checkpoint covers.
  size_t logged = 0;
  while (!logged_until_.empty() && logged_until_.front().first <= offset) {
    logged = logged_until_.front().second;
    logged_until_.erase(logged_until_.begin());
  }
  for (size_t i = 0; i < logged; ++i) writes_.push_back({log_family_, logged_[i], nullptr});
  if (!store_->commit(writes_, Checkpoint{offset, clock_before(offset)}, error)) return false;
  writes_.clear();
  logged_.erase(logged_.begin(), logged_.begin() + static_cast<std::ptrdiff_t>(logged));
  for (auto& [at, size] : logged_until_) size -= logged;
  for (auto& t : tables_) t->committed(offset);
  return true;
}

size_t PartitionState::pending() const {
  size_t n = 0;
  for (const auto& t : tables_) n += t->pending();
  return n;
}

std::vector<std::string> PartitionState::stored_steps() const {
  std::vector<std::string> out;
  for (std::string& name : store_->families()) {
    if (!internal_family(name)) out.push_back(std::move(name));
  }
  return out;
}

bool PartitionState::size(const std::string& name, uint64_t* keys, uint64_t* bytes) const {
  const Table* t = find(name);
  if (!t) return false;
  store_->size(t->family(), keys, bytes);
  return true;
}

}  // namespace streams::state
