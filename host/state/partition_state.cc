#include "state/partition_state.h"

#include <cstring>

#include "common/fault_point.h"
#include "common/log.h"

namespace streams::state {
namespace {

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

// A batch is a sequence of length-prefixed entries (uint32_t, then the
// entry). A change: 'c', present, the step's name, the key, then the stored
// value. A clock mark: 't' and the event clock of the inputs of its batch.
void append_change(std::string* out, const std::string& step, const Table::Pending& p) {
  const size_t size = 1 + 1 + 2 + step.size() + 4 + p.key.size() + (p.value ? p.value->size() : 0);
  append(out, static_cast<uint32_t>(size));
  out->push_back('c');
  out->push_back(p.value ? 1 : 0);
  append(out, static_cast<uint16_t>(step.size()));
  out->append(step);
  append(out, static_cast<uint32_t>(p.key.size()));
  out->append(p.key);
  if (p.value) out->append(*p.value);
}

void append_clock(std::string* out, int64_t clock) {
  append(out, static_cast<uint32_t>(1 + sizeof clock));
  out->push_back('t');
  append(out, clock);
}

struct LogEntry {
  char kind;
  bool present = false;
  std::string_view step, state_key, stored;  // views into the batch
  int64_t clock = -1;
};

bool decode(std::string_view value, LogEntry* e) {
  if (value.empty()) return false;
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
  e->step = value.substr(0, name);
  value.remove_prefix(name);
  if (!take(&value, &size) || value.size() < size) return false;
  e->state_key = value.substr(0, size);
  e->stored = value.substr(size);
  return true;
}

// The entries of a batch; false if it is not one this version wrote.
bool entries_of(std::string_view batch, std::vector<LogEntry>* out) {
  while (!batch.empty()) {
    uint32_t size = 0;
    if (!take(&batch, &size) || batch.size() < size) return false;
    out->emplace_back();
    if (!decode(batch.substr(0, size), &out->back())) return false;
    batch.remove_prefix(size);
  }
  return true;
}

}  // namespace

PartitionState::PartitionState(std::unique_ptr<Store> store)
    : store_(std::move(store)), opened_(store_->checkpoint()) {
  clock_ = checkpoint_clock_ = confirmed_clock_ = opened_.event_time_ms;
  confirmed_ = opened_.offset;
}

std::unique_ptr<PartitionState> PartitionState::open(std::unique_ptr<Store> store,
                                                     std::string* error) {
  (void)error;  // nothing to read until resolve()
  return std::unique_ptr<PartitionState>(new PartitionState(std::move(store)));
}

Table* PartitionState::table(const std::string& name, const Settings& settings,
                             std::string* error) {
  if (Table* t = find(name)) {
    t->set_settings(settings);
    return t;
  }
  uint32_t family = 0;
  if (!store_->family(name, &family, error)) return nullptr;
  tables_.push_back(std::make_unique<Table>(*store_, family, name, settings, clock_, input_));
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
  std::vector<std::pair<int64_t, std::string>> batches;
  if (!store_->read_batches(&batches, error)) return false;
  // Batches prepared after the checkpoint and at `first` or before were
  // committed; later ones were not (earlier ones are in the state already).
  int64_t clock = opened_.event_time_ms;
  size_t applied = 0, dropped = 0;
  std::vector<LogEntry> entries;
  writes_.clear();
  for (const auto& [offset, bytes] : batches) {
    if (offset <= opened_.offset) continue;
    const size_t from = entries.size();
    if (!entries_of(bytes, &entries)) {
      *error = "a pending batch of the state store cannot be read (written by another version?)";
      return false;
    }
    for (size_t i = from; i < entries.size(); ++i) {
      const LogEntry& e = entries[i];
      if (offset > first) {
        dropped += e.kind == 'c';
      } else if (e.kind == 't') {
        clock = std::max(clock, e.clock);
      } else {
        uint32_t family = 0;
        if (!store_->family(std::string(e.step), &family, error)) return false;
        stored_.emplace_back(e.stored);  // Write takes a std::string
        writes_.push_back({family, e.state_key, e.present ? &stored_.back() : nullptr});
        ++applied;
      }
    }
  }
  if (batches.empty() && opened_.offset > first) {
    log::warn("state: the store's checkpoint is at offset " + std::to_string(opened_.offset) +
              " but the source resumes at " + std::to_string(first) +
              " (its committed offset moved back): the inputs between are applied again");
  }
  const bool ok = store_->commit(writes_, Checkpoint{first, clock}, error) &&
                  (batches.empty() || store_->drop_batches(batches.back().first, error));
  writes_.clear();
  stored_.clear();
  if (!ok) return false;
  if (applied > 0 || dropped > 0) {
    log::info("state: resolved at offset " + std::to_string(first) + ": " +
              std::to_string(applied) + " change(s) of committed inputs applied, " +
              std::to_string(dropped) + " of inputs to be read again dropped");
  }
  clock_ = checkpoint_clock_ = confirmed_clock_ = clock;
  confirmed_ = first;
  resolved_ = true;
  return true;
}

bool PartitionState::prepare(int64_t offset, std::string* error) {
  if (offset <= prepared_ || offset <= confirmed_) return true;
  for (const auto& t : tables_) {
    if (!t->can_prepare(offset)) {
      *error = "step '" + t->name() + "': prepare at offset " + std::to_string(offset) +
               " before the processed end (input " + std::to_string(input_) + ")";
      return false;
    }
  }
  batch_.clear();
  ChangelogAck* ack = nullptr;
  bool sent = true;
  for (const auto& t : tables_) {
    const int step = changelog_ ? changelog_->index_of(t->name()) : -1;
    if (changelog_ && step < 0) {
      *error = "step '" + t->name() + "' has no changelog";
      return false;
    }
    t->each_pending(offset, [&](const Table::Pending& p) {
      if (!changelog_) return append_change(&batch_, t->name(), p);
      if (!sent) return;
      if (!ack) ack = new ChangelogAck();
      sent = changelog_->send(static_cast<size_t>(step), partition_, p.key, p.value, p.stamp, ack,
                              error);
    });
  }
  acks_.emplace_back(offset, ack);
  if (!sent) return false;
  // Without a changelog, the batch goes to the Store's pending log (with
  // the event clock of its inputs), which resolve() reads after a crash.
  if (!changelog_) {
    int64_t clock = -1;
    bool advanced = false;
    for (const auto& [mark_offset, mark_clock] : clock_marks_) {
      if (mark_offset >= offset) break;
      clock = mark_clock;
      advanced = true;
    }
    if (advanced) append_clock(&batch_, clock);
    if (!batch_.empty() && !store_->write_batch(offset, batch_, error)) return false;
  }
  for (auto& t : tables_) t->mark_prepared(offset);
  prepared_ = offset;
  return true;
}

PartitionState::~PartitionState() {
  for (auto& [offset, ack] : acks_) {
    if (ack) ack->release();
  }
}

// The changelog positions the confirmed batches reached, as writes of the
// next flush.
bool PartitionState::add_positions(std::string* error) {
  if (ends_.empty()) return true;
  uint32_t family = 0;
  if (!store_->family(kPositionsFamily, &family, error)) return false;
  encoded_.resize(tables_.size());
  for (size_t i = 0; i < tables_.size(); ++i) {
    const int step = changelog_->index_of(tables_[i]->name());
    if (step < 0 || static_cast<size_t>(step) >= ends_.size() || ends_[step] < 0) continue;
    encoded_[i].assign(reinterpret_cast<const char*>(&ends_[step]), sizeof(int64_t));
    writes_.push_back({family, tables_[i]->name(), &encoded_[i]});
  }
  return true;
}

int64_t PartitionState::durable(int64_t committable, std::string* error) const {
  int64_t durable = confirmed_;
  for (const auto& [offset, ack] : acks_) {
    if (offset > committable) break;
    if (ack && !ack->error().empty()) {
      *error = "the changelog refused a change: " + ack->error();
      return -1;
    }
    if (ack && !ack->done()) break;
    durable = offset;
  }
  return durable;
}

bool PartitionState::checkpoint(int64_t offset, int64_t now_ms, std::string* error) {
  if (offset <= confirmed_) return true;
  for (auto& t : tables_) t->stage(offset);
  // The changelog positions of the batches up to `offset` (acknowledged:
  // the runtime commits only durable offsets).
  while (!acks_.empty() && acks_.front().first <= offset) {
    if (ChangelogAck* ack = acks_.front().second) {
      const std::vector<int64_t>& ends = ack->ends();
      if (ends.size() > ends_.size()) ends_.resize(ends.size(), -1);
      for (size_t i = 0; i < ends.size(); ++i) ends_[i] = std::max(ends_[i], ends[i]);
      ack->release();
    }
    acks_.pop_front();
  }
  confirmed_ = offset;
  confirmed_clock_ = clock_before(offset);
  if (changelog_ && flush_every_ms_ > 0 && now_ms >= 0 && flushed_ms_ >= 0 &&
      now_ms - flushed_ms_ < flush_every_ms_) {
    return true;  // the changelog holds them; the Store takes them later
  }
  if (now_ms >= 0) flushed_ms_ = now_ms;
  return flush(error);
}

bool PartitionState::flush(std::string* error) {
  if (confirmed_ <= store_->checkpoint().offset) return true;
  writes_.clear();
  for (const auto& t : tables_) {
    const uint32_t family = t->family();
    t->each_staged([&](std::string_view key, const std::string* stored) {
      writes_.push_back({family, key, stored});
    });
  }
  if (changelog_ && !add_positions(error)) return false;
  // The state first, then the batches it took (a crash between leaves
  // batches at or before the checkpoint, which resolve() skips).
  if (!store_->commit(writes_, Checkpoint{confirmed_, confirmed_clock_}, error)) return false;
  fault_point("state-checkpointed");  // tests: a crash before the batches are dropped
  writes_.clear();
  ends_.clear();
  for (auto& t : tables_) t->unstage();
  return changelog_ || store_->drop_batches(confirmed_, error);
}

int64_t PartitionState::purge_expired(int64_t now_ms, int64_t every_ms, std::string* error) {
  if (!resolved_ || (purged_ms_ >= 0 && now_ms - purged_ms_ < every_ms)) return 0;
  purged_ms_ = now_ms;
  int64_t purged = 0;
  for (auto& t : tables_) {
    const int64_t n = t->purge_expired(stamp_, error);
    if (n < 0) return -1;
    purged += n;
  }
  return purged;
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
