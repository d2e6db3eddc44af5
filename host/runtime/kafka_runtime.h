// The Kafka runtime: one consumer-group member reading the source topic, one
// Chain per assigned partition, the pipeline's sinks (a producer per Kafka
// sink), and at-least-once commits (data plane, driven by one thread). The
// loop, the commit cadence, the partitions' lifecycle on rebalances and the
// shutdown live here; it reaches the broker through pipeline::Source and
// the sinks through pipeline::SinkSet, so unit tests run it with fakes.
//
// Commit model: an input offset is committed only after its processing and
// every output derived from it, on every branch, was acknowledged by its
// sink's producer, or written and flushed by a file sink (OffsetTracker). Commits are throttled to
// commit_interval_ms, flushed on revoke and on shutdown, and never made for a lost assignment.
//
// State: a stateful partition's changes go to its changelog before the
// commit that covers them, and an offset is committed only once they are
// acknowledged. With a changelog, a partition assigned is paused until its
// state is restored (runtime/restore_worker.h) at its committed offset,
// then resumes there; a swap waits for running restores.
//
// Backpressure: past the source's max_in_flight_* for a partition, or a Kafka
// sink's for its unacknowledged outputs, a partition is paused at the input
// it could not take and resumed from there once half drained; the loop keeps
// polling, so the group membership stays.
//
// Lifetime/thread: create() and run() on the same thread; run() returns
// after a stop request (drain, final commit, close) or a fatal error. swap()
// from any thread, also before run() (served once it runs) and after it
// returns (refused).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "common/loop_clocks.h"
#include "metrics/metrics.h"
#include "pipeline/crash_journal.h"
#include "pipeline/generation.h"
#include "pipeline/generation_swap.h"
#include "pipeline/sink_set.h"
#include "pipeline/source.h"
#include "pipeline/state_query.h"
#include "pipeline/swap_barrier.h"
#include "runtime/leave_together.h"
#include "state/changelog.h"
#include "state/store.h"

namespace streams::kafka {

// The changelog of stateful steps (state/changelog.h): `writer` is used on
// the processing thread, `reader` and `rewriter` on the restore thread.
struct ChangelogParts {
  std::unique_ptr<state::ChangelogWriter> writer, rewriter;
  std::unique_ptr<state::ChangelogReader> reader;
};

struct RuntimeOptions {
  std::string client_id = "streams-host";
  // Where the runtime and its Chains count: required; must outlive the
  // runtime.
  metrics::PipelineMetrics* metrics = nullptr;
  // Touched at most once a second while the processing loop turns, for
  // exec probes (the original's write_healthcheck); empty: none.
  std::string healthcheck_file;
  config::ErrorPolicy error_policy = config::ErrorPolicy::fail;
  // Inputs that crashed the host before (null: none); must outlive the
  // runtime. Those at the source's crash_limit are quarantined.
  const pipeline::CrashJournal* crash_journal = nullptr;
  // Opens the stores of stateful steps (null: a pipeline with such steps
  // does not start); must outlive the runtime. A committed offset is
  // checkpointed into its partition's store.
  state::Backend* state = nullptr;
  bool allow_dropped_state = false;  // see pipeline::PartitionProcessor::Options
  int64_t state_flush_ms = 0;        // see pipeline::PartitionProcessor::Options
  // The changelog of stateful steps. Null: create_kafka_runtime makes Kafka
  // ones for a pipeline with stateful steps (create_runtime: none).
  std::shared_ptr<ChangelogParts> changelog;
  // Processing threads: every thread's loop turns, and this one's slot;
  // null: one thread (create_kafka_runtime sets them).
  std::shared_ptr<LoopClocks> loops;
  size_t thread = 0;
  // Processing threads: where they wait for each other before leaving the
  // group (null: one thread).
  std::shared_ptr<LeaveTogether> leave;
  // How long the loop may stop taking records while a sink, or every
  // partition, is at its max_in_flight bound (see Runtime::hold_source); 0: never, each
  // partition pauses at the record it cannot take.
  int64_t backpressure_hold_ms = 1000;
};

// How often the runtime for `g` commits: its source's commit_interval_ms,
// or, when that is not set and the pipeline has state, 5000 (a commit sends
// the changelog every key changed since the last: a longer interval sends a
// hot key once where a shorter sends it each time).
int64_t commit_interval_ms(const pipeline::Generation& g);

// swap() (from any thread) switches each partition's Chain to the next
// generation between two inputs, keeping the consumer in its group.
class KafkaRuntime {
 public:
  virtual ~KafkaRuntime() = default;
  // Runs until `stop` becomes true or a fatal error. Returns the process exit
  // status: 0 after a clean drain and final commit, 1 otherwise.
  virtual int run(const std::atomic<bool>& stop) = 0;
  // Thread-safe; see pipeline::GenerationSwapper::swap.
  std::future<pipeline::SwapOutcome> swap(std::shared_ptr<const pipeline::Generation> next) {
    return swap_together(std::move(next), nullptr);
  }
  // The same, switching only once every runtime `barrier` joins has built
  // its successors (null: at once); see pipeline::SwapMailbox.
  virtual std::future<pipeline::SwapOutcome> swap_together(
      std::shared_ptr<const pipeline::Generation> next,
      std::shared_ptr<pipeline::SwapBarrier> barrier) = 0;
  // Thread-safe; see pipeline::GenerationSwapper::cancel (for a swap).
  virtual bool cancel_swap(const std::string& why) = 0;
  // Thread-safe: makes run() return as on a stop (drain, commit, close).
  virtual void request_stop() = 0;
  // Thread-safe: file sinks flush, close and open their paths again between
  // two inputs (after log rotation renamed their files).
  virtual void reopen_files() = 0;
  // Thread-safe, also before run(): the operator's pause. Paused, each
  // partition stops at its next input (fetching paused there, the group
  // membership kept), the open sink batches are sent, and what is in flight
  // completes and is committed; resumed, each reads on from where it
  // stopped. Kept across reloads that swap the generation.
  virtual void set_paused(bool paused) = 0;
  // Thread-safe: answers `q` from the processing thread between two inputs
  // (`reply` is called there, or at once when the runtime has stopped).
  virtual void query_state(pipeline::StateQuery q, pipeline::StateReply reply) = 0;
};

// The source's `parallelism` (steps_config) is the number of processing
// threads: more than one gives a runtime of that many (threaded_runtime.h),
// each with its own consumer, producers and changelog clients, and
// options.metrics' shards. On failure returns nullptr with *error.
std::unique_ptr<KafkaRuntime> create_kafka_runtime(std::shared_ptr<const pipeline::Generation> g,
                                                   const RuntimeOptions& options,
                                                   std::string* error);

// The same runtime over `source`, with sinks from `sinks` (used during this
// call only): unit tests give fakes. On failure returns nullptr with *error.
std::unique_ptr<KafkaRuntime> create_runtime(std::shared_ptr<const pipeline::Generation> g,
                                             const RuntimeOptions& options,
                                             std::unique_ptr<pipeline::Source> source,
                                             pipeline::SinkMaker& sinks, std::string* error);

}  // namespace streams::kafka
