// The partitions a runtime was assigned, with no broker in sight (data
// plane): per partition a Chain, an OffsetTracker, the inputs held by open
// batches and windows, the quarantined inputs, and whether backpressure
// paused it. It decides whether a partition takes an input, runs it, says
// what is committable, and switches every partition to a new generation.
//
// Tokens: an input's delivery token names its tracker (ids never reused, so
// a late acknowledgement for a revoked partition finds nothing or its old
// tracker) and its slot there.
//
// Used by the Kafka runtime, the local runtime and the pipeline test driver.
// Lifetime: the SinkSet, the error handler and the metrics outlive it.
// Thread: the processing thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/metrics.h"
#include "pipeline/chain.h"
#include "pipeline/crash_journal.h"
#include "pipeline/error_limits.h"
#include "pipeline/offset_tracker.h"
#include "pipeline/sink_set.h"
#include "pipeline/source.h"
#include "pipeline/state_query.h"
#include "pipeline/swap_mailbox.h"

namespace streams::pipeline {

// The runtime's commit bookkeeping of one partition.
struct CommitMark {
  int64_t sent = -1;       // the last offset sent in a commit
  int64_t confirmed = -1;  // the highest offset a commit result confirmed
  int64_t sent_ms = 0;     // steady clock: when `sent` was sent
};

struct Partition {
  int32_t number = 0;
  uint32_t tracker_id = 0;
  // The state of its stateful steps (null: it has none); outlives `chain`.
  std::unique_ptr<state::PartitionState> state;
  std::unique_ptr<Chain> chain;
  // By backpressure or the operator (PartitionProcessor::hold_inputs);
  // fetching resumes at resume_at.
  bool paused = false;
  // Its state is being restored (runtime/restore_worker.h, which owns
  // `state` meanwhile): it takes no input, answers no query, is not
  // purged, measured or switched.
  bool restoring = false;
  // Where its source resumes once restored: the committed offset, or -1
  // (none committed: the reset position; its state was resolved at 0 and
  // moves to its first input).
  int64_t start_at = -1;
  // While restoring: the first input fetched (and ignored), which paused the
  // partition (Taken::restoring), -1: none. Reading resumes there; with none
  // the partition was never paused and reads on where the assignment started.
  int64_t ignored_from = -1;
  int64_t resume_at = -1;
  // Inputs that crashed the host crash_limit times, by offset; those before
  // next_quarantine were passed.
  std::vector<Quarantine> quarantine;
  size_t next_quarantine = 0;
  CommitMark commit;
};

// What became of an input offered to process().
enum class Taken {
  processed,
  ignored,    // not assigned, or paused: read again later
  paused,     // at its bound: the caller pauses the partition's fetching
  restoring,  // the first record of a partition restoring its state: the
              // caller pauses its fetching (resumed from this record)
  fatal,      // the pipeline stops (*why)
};

class PartitionProcessor final : public InputHolds {
 public:
  static constexpr int64_t kPurgeEveryMs = 60000;
  struct Options {
    const CrashJournal* crash_journal = nullptr;  // null: no quarantine
    // Quarantine notes say how to go past an input (no DLQ, policy fail).
    bool explain_quarantine = false;
    // What origins name as the inputs' topic; empty: the source's topic.
    std::string topic;
    // Opens the stores of stateful steps (null: a graph with such steps
    // cannot be assigned); outlives the processor.
    state::Backend* state = nullptr;
    // A switch to a generation that keeps no state for a step whose state
    // a partition's store holds is refused unless this is set.
    bool allow_dropped_state = false;
    // Gets the checkpointed changes of every partition's state (null:
    // none); outlives the processor.
    state::ChangelogWriter* changelog = nullptr;
    // With a changelog: how often a partition's committed state changes are
    // flushed into its store (state::PartitionState::set_flush_interval).
    int64_t state_flush_ms = 0;
  };
  PartitionProcessor(std::shared_ptr<const Generation> g, SinkSet& sinks, LimitedErrors& errors,
                     metrics::PipelineMetrics& metrics, Options options);
  ~PartitionProcessor() override;

  // Starts `partition` with a new Chain; false with *error on failure.
  bool assign(int32_t partition, std::string* error);
  // Drops `partition` (its tracker stays while outputs are in flight, for
  // late acknowledgements).
  void revoke(int32_t partition);
  void revoke_all();

  // Offers one input: *why is the pause or stop reason.
  Taken process(const SourceRecord& input, std::string* why);
  // The source's hints (SourceHandler::wants_hints and after): the next
  // inputs' keys, for the lookups of their partitions' state tables
  // (state::PartitionState::prefetch_soon). Nothing for a partition
  // without state or restoring (its state is the restore's then).
  bool wants_hints() const { return stateful_; }
  uint64_t hint_soon(int32_t partition, std::string_view key) {
    const Partition* p = find(partition);
    return p && p->state && !p->restoring ? p->state->prefetch_soon(key) : 0;
  }
  void hint_next(int32_t partition, uint64_t hint) {
    const Partition* p = find(partition);
    if (p && p->state && !p->restoring) p->state->prefetch_next(hint);
  }
  // Paused partitions whose inputs and sinks drained below half their
  // bounds: unpaused, with the offset their fetching resumes at. None
  // while inputs are held.
  void take_resumable(std::vector<PartitionOffset>* out);
  // The operator's pause: while held, every partition pauses at its next
  // input (Taken::paused, "paused by the operator"), as at its bound; what
  // is in flight completes. Released, take_resumable() resumes them.
  void hold_inputs(bool held) { held_ = held; }
  bool held() const { return held_; }
  // The state checkpoint protocol (state/partition_state.h): prepare at
  // processed_end() before a commit is sent, commit durable(), checkpoint
  // once it is confirmed.
  // False with *why on a store failure: the runtime must stop without
  // committing further. (The first input after assign resolves the store.)
  bool prepare(Partition& p, int64_t offset, std::string* why);
  bool checkpoint(Partition& p, int64_t offset, std::string* why);
  // The offset of `p` to commit: `committable` without state, else the
  // highest prepared offset at or before it whose changelog records were
  // acknowledged (-1 with *why when the changelog refused one).
  int64_t durable(Partition& p, int64_t committable, std::string* why);
  // Resolves `p`'s state at `first`, the offset its source resumes at (its
  // committed offset), unless its first input did already.
  bool resolve(Partition& p, int64_t first, std::string* why);
  // Answers a read of a stateful step's state on an assigned partition.
  StateAnswer query(const StateQuery& q);
  // The same at each partition's committable offset, for runtimes that do
  // not commit (local runs, the test driver).
  bool checkpoint_committable(std::string* why);
  // Runs the chains' time limits (batch max_wait_ms, window idle_flush_ms),
  // and purges state entries ttl_ms expired every kPurgeEveryMs.
  // False with *why when a chain stopped.
  bool tick(int64_t now_ms, std::string* why);
  // End of input (a local run, a test): every chain emits its open batches
  // and windows. False with *why when a chain stopped.
  bool finish(std::string* why);
  // Builds every partition's successor for `next`, then (unless `mailbox`
  // says the swap was cancelled) each takes over. A chain that stops while
  // switching sets *fatal.
  SwapOutcome switch_to(std::shared_ptr<const Generation> next, SwapMailbox& mailbox,
                        std::string* fatal);

  void hold(uint64_t token) override;
  void release(uint64_t token) override;
  // The token's input: its partition and offset; false for a tracker gone.
  bool input_of(uint64_t token, int32_t* partition, int64_t* offset) const;

  Partition* find(int32_t partition) {
    return partition >= 0 && static_cast<size_t>(partition) < partitions_.size()
               ? partitions_[partition].get()
               : nullptr;
  }
  // One past the last offset of `p` complete with all before it, or -1.
  int64_t committable(const Partition& p) const { return trackers_[p.tracker_id]->committable(); }
  // The record timestamp (ms) of the input at committable(p) - 1, or -1.
  int64_t committable_timestamp(const Partition& p) const {
    return trackers_[p.tracker_id]->committable_timestamp();
  }
  // One past the last input begun (every input before it was processed),
  // or the offset reading starts at when none was.
  int64_t processed_end(const Partition& p) const;
  // Calls f(Partition&) for each assigned partition.
  template <class F>
  void for_each(F&& f) {
    for (auto& p : partitions_) {
      if (p) f(*p);
    }
  }
  uint32_t paused() const { return paused_; }
  // True when no assigned partition could take another input (each is
  // paused, restoring, or at `share` of its max_in_flight bounds) and one
  // at least is at its bounds.
  bool every_partition_over(double share) const;
  struct Gauges {
    uint64_t assigned = 0, in_flight = 0, in_flight_bytes = 0;
  };
  Gauges gauges() const;
  // Each assigned partition's position, commit and holds (thread 1).
  std::vector<metrics::PartitionStatus> status() const;
  // Sets each stateful step's state_keys and state_bytes (metrics.h) to
  // the sum over the assigned partitions.
  void publish_state_sizes();
  const Generation& generation() const { return *g_; }
  const std::string& topic() const { return topic_; }

 private:
  OffsetTracker* tracker(uint64_t token) const {
    auto id = static_cast<size_t>(token >> 32);
    return id < trackers_.size() ? trackers_[id].get() : nullptr;
  }
  // Why `p` cannot take another input now (null: it can), with the bounds
  // scaled by `share`.
  const char* backpressure(const Partition& p, double share);
  // The same test without the reason, allocating nothing (asked for every
  // paused partition on each turn of the loop).
  bool over(const Partition& p, double share) const;
  // backpressure() for `p`'s own bounds only (a static reason, or null).
  const char* inputs_over(const Partition& p, double share) const;
  void adopt_bounds();
  void load_quarantine(Partition& p);
  // Opens `p`'s state when `g` has stateful steps and it has none yet.
  bool open_state(Partition& p, const Generation& g, std::string* error);
  bool first_input(Partition& p, int64_t offset, std::string* why);
  // A turn of `p` between inputs (time limits, end of input, a reload's
  // hand-over): body(idle) runs with, when `p` keeps state, a barrier at its
  // next offset (OffsetTracker::begin_barrier) standing in for an input as
  // `idle`, so what the turn emits holds it and its state changes are
  // stamped with that offset (PartitionState::stamp_between). `idle` is null
  // when there is no state, no known next offset yet, or no tracker slot.
  template <class F>
  auto between_inputs(Partition& p, F&& body);
  bool begin_idle(Partition& p, HeldInput* idle);
  const Quarantine* quarantine_at(Partition& p, int64_t offset);

  std::shared_ptr<const Generation> g_;
  // What the per-input path reads of g_, set by adopt_bounds() (from g_'s
  // deployment, a std::map lookup by step name, and its steps).
  bool stateful_ = false;  // g_ has stateful steps
  uint64_t max_in_flight_messages_ = 0, max_in_flight_bytes_ = 0;
  SinkSet& sinks_;
  LimitedErrors& errors_;
  metrics::PipelineMetrics& metrics_;
  metrics::RuntimeMetrics& m_;
  Options options_;
  std::string topic_;
  const char* topic_name_;  // topic_, interned: InFlight copies outlive this
  std::vector<std::unique_ptr<OffsetTracker>> trackers_;  // by id, never reused
  std::vector<int32_t> tracker_partitions_;               // by tracker id
  std::vector<std::unique_ptr<Partition>> partitions_;    // by partition number
  uint32_t paused_ = 0;
  bool held_ = false;    // hold_inputs()
  uint64_t inputs_ = 0;  // processed, for sampling process_seconds
  Quarantine bad_headers_;
};

}  // namespace streams::pipeline
