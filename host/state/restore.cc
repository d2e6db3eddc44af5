// PartitionState::restore: the changelog's part of resolving a partition's
// state (partition_state.h, step 3').
#include <cstring>

#include "common/log.h"
#include "state/partition_state.h"

namespace streams::state {
namespace {

constexpr int kRewriteFlushMs = 60000;
const std::string kMarked;  // the value of a key in kRewritesFamily

std::string encode_offset(int64_t offset) {
  return std::string(reinterpret_cast<const char*>(&offset), sizeof offset);
}

// The write time a stored value begins with (table.h).
int64_t write_time(std::string_view stored) {
  int64_t t = -1;
  if (stored.size() >= sizeof t) std::memcpy(&t, stored.data(), sizeof t);
  return t;
}

std::string describe(const std::string& step, int32_t partition) {
  return "step '" + step + "' partition " + std::to_string(partition);
}

// One table's restore, fed batch by batch by the reader: each batch is
// written with the position after it, so a restore cut short goes on from
// there.
class Replay {
 public:
  Replay(Store& store, const std::string& step, uint32_t family, uint32_t positions,
         uint32_t rewrites, int64_t high, const std::atomic<bool>& cancel,
         PartitionState::RestoreProgress* progress, std::string* error)
      : store_(store),
        step_(step),
        family_(family),
        positions_(positions),
        rewrites_(rewrites),
        committed_(store.checkpoint().offset),
        high_(high),
        checkpoint_(store.checkpoint()),
        cancel_(cancel),
        progress_(progress),
        error_(error) {}

  static bool visit(void* ctx, const ChangelogRecord* records, size_t count) {
    return static_cast<Replay*>(ctx)->take(records, count);
  }

  bool failed() const { return failed_; }
  uint64_t applied() const { return applied_; }
  uint64_t skipped() const { return skipped_; }
  // The store's checkpoint, its event clock raised to the restored values'.
  const Checkpoint& checkpoint() const { return checkpoint_; }

 private:
  bool take(const ChangelogRecord* records, size_t count) {
    if (cancel_.load(std::memory_order_relaxed)) return false;
    if (count == 0) return true;
    writes_.clear();
    values_.clear();
    values_.reserve(count);  // writes_ point into it
    uint64_t bytes = 0;
    for (size_t i = 0; i < count; ++i) {
      const ChangelogRecord& r = records[i];
      bytes += r.key.size() + r.stored.size();
      if (r.stamp >= committed_) {  // an input to be read again made it
        std::string& marker = values_.emplace_back(step_);
        marker.push_back('\0');
        marker.append(r.key);
        writes_.push_back({rewrites_, marker, &kMarked});
        ++skipped_;
        continue;
      }
      if (r.present) {
        writes_.push_back({family_, r.key, &values_.emplace_back(r.stored)});
        checkpoint_.event_time_ms = std::max(checkpoint_.event_time_ms, write_time(r.stored));
      } else {
        writes_.push_back({family_, r.key, nullptr});
      }
      ++applied_;
    }
    const int64_t next = records[count - 1].offset + 1;
    position_ = encode_offset(next);
    writes_.push_back({positions_, step_, &position_});
    if (!store_.commit(writes_, checkpoint_, error_)) {
      failed_ = true;
      return false;
    }
    progress_->remaining.store(high_ - next, std::memory_order_relaxed);
    progress_->records.fetch_add(count, std::memory_order_relaxed);
    progress_->bytes.fetch_add(bytes, std::memory_order_relaxed);
    return true;
  }

  Store& store_;
  const std::string& step_;
  const uint32_t family_, positions_, rewrites_;
  const int64_t committed_;  // records stamped at or after it are skipped
  const int64_t high_;       // where the read ends
  Checkpoint checkpoint_;
  const std::atomic<bool>& cancel_;
  PartitionState::RestoreProgress* progress_;
  std::string* error_;
  bool failed_ = false;
  uint64_t applied_ = 0, skipped_ = 0;
  std::vector<Store::Write> writes_;
  std::vector<std::string> values_;
  std::string position_;
};

// Collects the keys of `family` starting with `prefix`.
bool keys_of(Store& store, uint32_t family, std::string_view prefix, std::vector<std::string>* out,
             std::string* error) {
  return store.scan(
      family, prefix,
      [](void* ctx, std::string_view key, std::string_view) {
        static_cast<std::vector<std::string>*>(ctx)->emplace_back(key);
        return true;
      },
      out, error);
}

}  // namespace

bool PartitionState::position(const std::string& name, int64_t* out, std::string* error) {
  *out = -1;
  uint32_t family = 0;
  if (!store_->family(kPositionsFamily, &family, error)) return false;
  std::string value;
  const Found found = store_->get(family, name, &value, error);
  if (found == Found::yes && value.size() == sizeof *out)
    std::memcpy(out, value.data(), sizeof *out);
  return found != Found::error;
}

PartitionState::Restored PartitionState::restore(ChangelogReader& reader, ChangelogWriter& rewriter,
                                                 const std::atomic<bool>& cancel,
                                                 RestoreProgress* progress, std::string* error) {
  if (!resolved_) {
    *error = "restore before resolve";
    return Restored::failed;
  }
  for (const auto& t : tables_) {
    const int step = rewriter.index_of(t->name());
    if (step < 0) continue;
    if (!restore_table(*t, static_cast<size_t>(step), reader, rewriter, cancel, progress, error)) {
      return error->empty() ? Restored::cancelled : Restored::failed;
    }
  }
  clock_ = std::max(clock_, store_->checkpoint().event_time_ms);
  checkpoint_clock_ = std::max(checkpoint_clock_, clock_);
  return Restored::done;
}

bool PartitionState::restore_table(Table& t, size_t step, ChangelogReader& reader,
                                   ChangelogWriter& rewriter, const std::atomic<bool>& cancel,
                                   RestoreProgress* progress, std::string* error) {
  const std::string where = describe(t.name(), partition_);
  int64_t low = 0, high = 0, from = -1;
  uint32_t positions = 0, rewrites = 0;
  if (!reader.bounds(step, partition_, &low, &high, error) || !position(t.name(), &from, error) ||
      !store_->family(kPositionsFamily, &positions, error) ||
      !store_->family(kRewritesFamily, &rewrites, error)) {
    return false;
  }
  std::vector<std::string> keys;
  bool reseed = false;  // every key goes to the changelog again
  if (from > high) {
    log::warn("state: " + where + ": the changelog ends at offset " + std::to_string(high) +
              ", before the store's position " + std::to_string(from) +
              " (the topic was recreated?): the store's keys are written to it again");
    reseed = true;
    from = high;
  } else if (from >= 0 && from < low) {
    log::warn("state: " + where + ": the changelog starts at offset " + std::to_string(low) +
              ", after the store's position " + std::to_string(from) +
              " (records were deleted): the state is restored from the changelog alone");
    if (!keys_of(*store_, t.family(), {}, &keys, error)) return false;
    writes_.clear();
    for (const std::string& k : keys) writes_.push_back({t.family(), k, nullptr});
    if (!store_->commit(writes_, store_->checkpoint(), error)) return false;
    keys.clear();
    from = low;
  } else if (from < 0) {
    // No position: a new store, or one older than its changelog.
    if (!keys_of(*store_, t.family(), {}, &keys, error)) return false;
    reseed = high == low && !keys.empty();
    keys.clear();
    from = low;
  }
  Replay replay(*store_, t.name(), t.family(), positions, rewrites, high, cancel, progress, error);
  progress->remaining.store(high - from, std::memory_order_relaxed);
  if (from < high && !reader.read(step, partition_, from, high, &Replay::visit, &replay, error)) {
    return false;
  }
  if (replay.failed()) return false;
  if (cancel.load(std::memory_order_relaxed)) return false;
  // The read reached the end: the position is its end, past any records
  // compaction removed at the tail.
  std::string end = encode_offset(high);
  writes_.assign(1, {positions, t.name(), &end});
  if (!store_->commit(writes_, replay.checkpoint(), error)) return false;
  if (replay.applied() + replay.skipped() > 0) {
    log::info("state: " + where + ": restored " + std::to_string(replay.applied()) +
              " change(s) from the changelog (offsets " + std::to_string(from) + " to " +
              std::to_string(high) + "), skipped " + std::to_string(replay.skipped()) +
              " of inputs to be read again");
  }
  return rewrite(t, step, rewriter, reseed, error);
}

// The keys of skipped records (or, reseeding, every key) go to the
// changelog again with their restored value, stamped before the resume
// point so that every later restore applies them.
bool PartitionState::rewrite(Table& t, size_t step, ChangelogWriter& rewriter, bool reseed,
                             std::string* error) {
  uint32_t rewrites = 0;
  if (!store_->family(kRewritesFamily, &rewrites, error)) return false;
  const std::string prefix = t.name() + '\0';
  std::vector<std::string> marked, all;
  if (!keys_of(*store_, rewrites, prefix, &marked, error) ||
      (reseed && !keys_of(*store_, t.family(), {}, &all, error))) {
    return false;
  }
  if (marked.empty() && all.empty()) return true;
  auto* ack = new ChangelogAck();
  const int64_t stamp = store_->checkpoint().offset - 1;
  bool sent = true;
  std::string value;
  auto send = [&](std::string_view key) {
    value.clear();
    const Found f = store_->get(t.family(), key, &value, error);
    sent =
        f != Found::error &&
        rewriter.send(step, partition_, key, f == Found::yes ? &value : nullptr, stamp, ack, error);
  };
  for (size_t i = 0; i < marked.size() && sent; ++i) {
    send(std::string_view(marked[i]).substr(prefix.size()));
  }
  for (size_t i = 0; i < all.size() && sent; ++i) send(all[i]);
  const bool acknowledged =
      sent && rewriter.flush(kRewriteFlushMs) && ack->done() && ack->error().empty();
  if (sent && !acknowledged) {
    *error = describe(t.name(), partition_) + ": the changelog did not take the rewritten keys" +
             (ack->error().empty() ? std::string(" in time") : ": " + ack->error());
  }
  ack->release();
  if (!acknowledged) return false;
  writes_.clear();
  for (const std::string& k : marked) writes_.push_back({rewrites, k, nullptr});
  if (!store_->commit(writes_, store_->checkpoint(), error)) return false;
  log::info("state: " + describe(t.name(), partition_) + ": wrote " +
            std::to_string(marked.size() + all.size()) + " key(s) to the changelog again" +
            (reseed ? " (all of them)" : ""));
  return true;
}

}  // namespace streams::state
