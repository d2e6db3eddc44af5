// The state of one source partition: its Store, a Table per stateful step
// (by the step's declared name, so a reload that keeps the name keeps the
// state), the partition's event clock, and the checkpoint protocol.
//
// Checkpoint protocol (local part). The Store holds the state of every input
// before its checkpoint offset, plus a pending log of later changes, each
// with the offset of the input that made it:
//   1. prepare(C), at the processed end C (every input before C processed,
//      none after), before the runtime sends a commit: the changes stamped
//      before C that are not yet there (the last one of each key) go to the
//      pending log as batch C (one atomic write). The runtime commits only
//      prepared offsets (durable()): the largest one its outputs allow.
//   2. checkpoint(C), once the commit is confirmed: the changes stamped
//      before C are staged (the last of each key), and flush() writes the
//      staged changes into the state, drops the batches up to C from the
//      pending log, and makes C the checkpoint (one atomic write).
//   3. resolve(F), at the first input F read after the Store was opened, or
//      at the committed offset F the runtime asked for: the source resumes
//      at F, so the inputs before F are done for good and those from F on
//      will be read again. Batches prepared at F or before are applied,
//      later ones dropped, and F becomes the checkpoint.
// The runtime prepares increasing offsets and commits only prepared ones,
// so F is the checkpoint or a prepared offset; an offset moved by other
// means (a reset, an operator) cannot be exact.
// A crash between any two steps leaves a Store that resolve() brings to the
// state of exactly the inputs before F: a replayed input sees the state it
// saw the first time.
//
// Changelog protocol (changelog.h), when a ChangelogWriter is set:
//   1'. prepare(C) sends batch C's changes to the changelog instead of the
//       pending log; durable() returns C once they (and every earlier
//       batch's) are acknowledged, and the runtime commits what durable()
//       returns.
//   2'. flush() records, with the state, each step's changelog offset after
//       the last record of the batches it took (its position). The changes
//       of a confirmed commit are durable in the changelog, so checkpoint()
//       flushes at most once every set_flush_interval() (a key changed by
//       many commits meanwhile is written once); until then the Store keeps
//       an older checkpoint, and a crash restores what followed it.
//   3'. restore(), after resolve(F): reads each step's changelog from its
//       position (from the start for a new or lost Store) to its end,
//       applies the records stamped before F and skips later ones (inputs
//       to be read again, from a run that crashed or lost the partition
//       before committing them). The keys of skipped records are written
//       to the changelog again with their restored value (stamped F - 1),
//       so that compaction, which keeps a key's last record, cannot keep a
//       skipped one only. Progress is durable batch by batch: a restore
//       cut short (revoked, killed) goes on from where it got.
// Records of a crashed run stamped before a later F are applied, then
// overwritten by the records the replay of the same inputs made, which
// follow them in the log.
//
// Lifetime: created when the partition is assigned (PartitionProcessor),
// destroyed when it is revoked; the Backend outlives it. Thread: the
// partition's processing thread.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <atomic>

#include "state/changelog.h"
#include "state/store.h"
#include "state/table.h"

namespace streams::state {

// Families the host keeps in each store (store.h internal_family): each
// step's changelog position (by step name, 8 bytes), and the keys restore
// found skipped records of (step name, '\0', key), until rewritten.
inline const std::string kPositionsFamily =
    "\x01"
    "changelog";
inline const std::string kRewritesFamily =
    "\x01"
    "rewrite";

class PartitionState {
 public:
  ~PartitionState();
  // The state of `store`'s partition; null with *error when it cannot be
  // used.
  static std::unique_ptr<PartitionState> open(std::unique_ptr<Store> store, std::string* error);

  // The Table of step `name`, opened (its family created) on first use and
  // given `settings`. Null with *error when the Store cannot.
  Table* table(const std::string& name, const Settings& settings, std::string* error);
  // The Table of step `name` if opened, else null.
  Table* find(const std::string& name) const;

  // Hints that an input keyed `key` comes soon, for tables looked up by
  // the input's key (Table::prefetch): prefetch_soon first, returning the
  // hint prefetch_next takes, later, shortly before the input. Each costs a
  // hash or a probe and a prefetch per table, and changes nothing.
  uint64_t prefetch_soon(std::string_view key) const {
    const uint64_t h = Table::key_hash(key);
    for (const auto& t : tables_) t->prefetch(h, false);
    return h;
  }
  void prefetch_next(uint64_t hint) const {
    for (const auto& t : tables_) t->prefetch(hint, true);
  }

  // An input at `offset` begins: the stamp of the changes made until the
  // next one (by it, or by the time limits that follow it), and the event
  // clock's advance to its timestamp.
  void observe(int64_t timestamp_ms, int64_t offset) {
    stamp_ = input_ = offset;
    if (timestamp_ms > clock_) {
      clock_ = timestamp_ms;
      clock_marks_.emplace_back(offset, timestamp_ms);
    }
  }
  int64_t stamp() const { return stamp_; }
  // Changes made between inputs (a time limit, a reload's hand-over) belong
  // with the next input, at `offset`: they become durable with it, after
  // whatever the turn emitted was acknowledged (OffsetTracker barriers).
  void stamp_between(int64_t offset) {
    if (offset > stamp_) stamp_ = offset;
  }
  // The event clock: the highest input timestamp seen (-1: none yet).
  const int64_t& clock() const { return clock_; }

  // What the Store held when opened.
  const Checkpoint& opened_at() const { return opened_; }
  // The offset the state was last confirmed at (its inputs' changes are
  // durable: in the Store, or in the changelog until the next flush); -1:
  // none.
  int64_t checkpointed() const { return confirmed_; }
  // Offset of the Store's checkpoint (-1: none).
  int64_t flushed() const { return store_->checkpoint().offset; }

  // The protocol's steps (above). Each returns false with *error when the
  // Store failed: the caller must stop without committing further.
  bool resolved() const { return resolved_; }
  // The partition's first input since the store was opened was seen.
  bool seen_input() const { return seen_input_; }
  void set_seen_input() { seen_input_ = true; }
  bool resolve(int64_t first_offset, std::string* error);
  // prepare() refuses an offset before an input that made a change.
  bool prepare(int64_t offset, std::string* error);
  // `now_ms`: a steady clock, for the flush interval (-1: flush now).
  bool checkpoint(int64_t offset, int64_t now_ms, std::string* error);
  bool checkpoint(int64_t offset, std::string* error) { return checkpoint(offset, -1, error); }
  // Writes the staged changes of the confirmed offset to the Store now
  // (before a revoke or a stop, so a restart restores nothing).
  bool flush(std::string* error);
  // With a changelog: checkpoint() flushes at most once every `ms` (0: at
  // every checkpoint, as without one).
  void set_flush_interval(int64_t ms) { flush_every_ms_ = ms; }
  // Changes not yet checkpointed, over every table.
  size_t pending() const;
  // Erases the entries ttl_ms expired, of every table with a ttl, as
  // changes of the current input (so the store and what it restores never
  // keep them): at most once every `every_ms` of `now_ms` (a steady clock),
  // and only once resolved. Returns how many, or -1 with *error.
  int64_t purge_expired(int64_t now_ms, int64_t every_ms, std::string* error);

  // The changelog (see above): `writer` (null: none) gets the changes of
  // each prepared batch, for its partition `partition`; it outlives this.
  void set_changelog(ChangelogWriter* writer, int32_t partition) {
    changelog_ = writer;
    partition_ = partition;
  }
  // The last offset prepared (-1: none since opened).
  int64_t prepared() const { return prepared_; }
  // The offset to commit for inputs committable before `committable`: the
  // highest prepared offset at or before it whose changes, and every
  // earlier batch's, the changelog acknowledged (without a changelog: the
  // highest prepared), else the last checkpointed one. -1 with *error when
  // the changelog refused a change for good.
  int64_t durable(int64_t committable, std::string* error) const;

  // Restores each opened table's family from the changelog (3'., above),
  // once resolved. `rewriter` sends the rewritten keys (and is flushed
  // before restore returns). Checks `cancel` between batches. Thread: any
  // one thread while the partition processes nothing.
  enum class Restored { done, cancelled, failed };
  struct RestoreProgress {
    std::atomic<uint64_t> records{0}, bytes{0};
    std::atomic<int64_t> remaining{0};  // records left to read, at most
  };
  Restored restore(ChangelogReader& reader, ChangelogWriter& rewriter,
                   const std::atomic<bool>& cancel, RestoreProgress* progress, std::string* error);

  // The steps whose state the Store holds, by name.
  std::vector<std::string> stored_steps() const;
  // Keys and bytes of step `name`'s state, as the Store estimates them.
  bool size(const std::string& name, uint64_t* keys, uint64_t* bytes) const;

 private:
  explicit PartitionState(std::unique_ptr<Store> store);
  // restore() of one table; false (with *error unless cancelled) when it
  // did not finish.
  bool restore_table(Table& t, size_t step, ChangelogReader& reader, ChangelogWriter& rewriter,
                     const std::atomic<bool>& cancel, RestoreProgress* progress,
                     std::string* error);
  bool add_positions(std::string* error);
  bool rewrite(Table& t, size_t step, ChangelogWriter& rewriter, bool reseed, std::string* error);
  // The changelog position of step `name` recorded with the state (-1: none).
  bool position(const std::string& name, int64_t* out, std::string* error);
  // The clock of the inputs before `offset`, dropping older marks.
  int64_t clock_before(int64_t offset);

  std::unique_ptr<Store> store_;
  std::vector<std::unique_ptr<Table>> tables_;
  int64_t clock_ = -1;
  int64_t stamp_ = -1;
  int64_t input_ = -1;  // the offset of the last input observed
  // (offset, clock) where the clock advanced, since the last checkpoint:
  // the clock a checkpoint records is the one of the inputs it covers.
  std::deque<std::pair<int64_t, int64_t>> clock_marks_;
  int64_t checkpoint_clock_ = -1;
  int64_t confirmed_ = -1;        // the last offset checkpoint() took
  int64_t confirmed_clock_ = -1;  // the clock of the inputs before it
  int64_t flush_every_ms_ = 0;
  int64_t flushed_ms_ = -1;  // checkpoint()'s now_ms at the last flush
  Checkpoint opened_;
  bool resolved_ = false;
  bool seen_input_ = false;
  int64_t purged_ms_ = -1;            // steady clock of the last purge
  int64_t prepared_ = -1;             // the last offset prepared
  uint64_t sequence_ = 0;             // orders the pending log's keys within a batch
  std::vector<Store::Write> writes_;  // reused
  std::deque<std::string> stored_;    // resolve(): values its writes_ point to
  std::string batch_;                 // prepare(): the batch, reused
  ChangelogWriter* changelog_ = nullptr;
  int32_t partition_ = 0;
  // Prepared batches not yet checkpointed, with their changelog
  // acknowledgements (null: a batch with no change, or no changelog).
  std::deque<std::pair<int64_t, ChangelogAck*>> acks_;
  // Per step index: the changelog position the confirmed batches reached
  // since the last flush (-1: none).
  std::vector<int64_t> ends_;
  std::vector<std::string> encoded_;  // add_positions(): values its writes point to
};

}  // namespace streams::state
