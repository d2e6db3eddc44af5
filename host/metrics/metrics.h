// The host's metrics (data plane writes, control plane reads).
//
// Every counter, gauge and histogram has one writer (the processing thread;
// the reload controller for reloads and the generation), which updates it
// with a relaxed load and store (no locked instruction, no allocation); the
// control thread reads them at scrape time. Per-step counters are kept by
// step name for the life of the host, so they run on across reloads and
// rebalances; a step's description (kind, next steps, plugin) and the
// clients' statistics text are written and read under the object's lock.
//
// Processing threads: the first writes the PipelineMetrics itself, every
// other one a shard of it (shard(i)), so each counter keeps one writer;
// readers merge them (merged(): sums, and for the clocks the health checks
// read, the oldest).
//
// Lifetime: one PipelineMetrics per host, created before the runtime and
// destroyed after it; the pointers it hands out stay valid as long as it.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace streams::metrics {

// A count with a single writer.
class Counter {
 public:
  void add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(uint64_t v) { value_.store(v, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A distribution over fixed upper bounds (+Inf implied), with a single
// writer like Counter. observe() scans the bounds (a dozen): no allocation.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), buckets_(bounds_.size() + 1) {}
  void observe(double v) {
    size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i]) ++i;
    buckets_[i].add();
    sum_.store(sum_.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
  }
  const std::vector<double>& bounds() const { return bounds_; }
  // Observations per bucket (not cumulative); the last is above every bound.
  std::vector<uint64_t> counts() const {
    std::vector<uint64_t> out;
    for (const Counter& b : buckets_) out.push_back(b.value());
    return out;
  }
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  // Adds `other`'s observations (same bounds); by the reader, into a copy.
  void add(const Histogram& other);

 private:
  std::vector<double> bounds_;
  std::vector<Counter> buckets_;
  std::atomic<double> sum_{0};
};

// Error kinds, in the order of the `error` label values.
inline constexpr const char* kErrorKinds[] = {
    "invalid_input", "processing", "exception", "contract", "sink_rejected", "crash", "error"};
inline constexpr size_t kErrorKindCount = sizeof(kErrorKinds) / sizeof(kErrorKinds[0]);

struct StepMetrics {
  std::string name;
  std::string kind;  // map, filter, ... of the running generation
  // The steps that take this one's records (branches included), by name,
  // for records out = the sum of their records in; empty for sinks.
  std::vector<std::string> next;
  std::string plugin, version;  // plugin steps: what serves the step now
  Counter records_in;
  Counter written;  // sinks: outputs taken by the sink
  // Batch steps: records per emitted batch, and how long it was open.
  Histogram batch_records{{1, 10, 100, 1000, 10000, 100000}};
  Histogram batch_age_seconds{{0.001, 0.01, 0.1, 1, 10, 60}};
  Counter errors[kErrorKindCount];
  // Plugin sinks: records and key/value bytes the store took, records per
  // batch written and how long its write took, batches sent again after a
  // retriable failure, records the store refused (dead-lettered).
  Counter plugin_sink;  // 1: the step is a plugin sink, these are kept
  Counter sink_rows;
  Counter sink_bytes;
  Histogram sink_batch_records{{1, 10, 100, 1000, 10000, 100000}};
  Histogram sink_write_seconds{{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30}};
  Counter sink_retries;
  Counter sink_rejected;
  // Stateful steps (`stateful` 1): keys and bytes of their stores, over
  // the partitions assigned, as the stores estimate them.
  Counter stateful;
  Counter state_keys;
  Counter state_bytes;
};

// The source's and sinks' numbers, written by the runtime.
struct RuntimeMetrics {
  Counter consumed;        // inputs taken from the source
  Counter consumed_bytes;  // their key and value bytes
  Counter produced;        // outputs handed to Kafka producers (sinks and DLQ)
  Counter delivered;       // outputs acknowledged
  Counter dead_letters;    // records written to the DLQ
  Counter skipped;         // failed records skipped (skip-and-count)
  Counter commits;         // offset commits sent
  Counter last_commit_ms;  // wall clock of the last one (0: none yet)
  // At the last commit that covered inputs with a record timestamp (wall
  // clock ms at commit_latency_at_ms; 0: none yet): how old the newest input
  // it covered was, for the partition where that input was oldest.
  Counter commit_latency_ms;
  Counter commit_latency_at_ms;
  Counter pauses;             // partitions paused by backpressure, so far
  Counter holds;              // times the loop stopped taking records for a sink at its bound
  Counter paused_partitions;  // now
  Counter assigned_partitions;
  // 1 once the group gave this consumer an assignment, an empty one
  // included: a member, where before it was joining.
  Counter group_joined;
  // Why this consumer has no assignment yet, when the brokers said (a
  // SourceHandler::Unavailable): 1 the source topic does not exist, 2
  // reading it is not authorized (0: none, or partitions were assigned
  // since).
  Counter topic_unavailable;
  Counter in_flight;  // inputs not yet committable, all partitions
  Counter in_flight_bytes;
  Counter unacknowledged;  // outputs waiting for their delivery report
  // The longest a Kafka sink or the DLQ has had outputs pending without
  // any delivery report (ms; 0: none pending): a sink or DLQ outage.
  Counter delivery_wait_ms;
  // Health: the steady clock (ms) at the processing loop's last turn (0:
  // not running), and the wall clock of the last commit cycle that went
  // through (sinks flushed; offsets sent, or none new to send).
  Counter loop_ms;
  Counter commit_checked_ms;
  // State restores from the changelog: partitions restoring (or waiting to)
  // now, changelog records and bytes read so far, records the running
  // restore has left to read (at most), and the milliseconds restores took.
  Counter restoring_partitions;
  Counter restore_records;
  Counter restore_bytes;
  Counter restore_remaining;
  Counter restore_ms;
  // One input through its whole chain to its sinks, for 1 input in 64.
  Histogram process_seconds{
      {1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 1e-2, 0.1}};
};

// One assigned source partition as its processing thread last published
// it (about once a second).
struct PartitionStatus {
  int32_t partition = 0;
  size_t thread = 1;       // processing thread, from 1 (as the logs' "[thread N]")
  int64_t position = -1;   // the next offset to process (-1: not known yet)
  int64_t committed = -1;  // the last offset a commit confirmed (-1: none yet here)
  uint64_t in_flight = 0;  // inputs begun and not yet committable
  bool paused = false;     // its fetching: by backpressure or the operator
  bool restoring = false;  // its state, from the changelog
  // The operator's pause holds it, and every input it began since its
  // assignment completed and was committed (a commit result confirmed it).
  bool drained = false;
};

class PipelineMetrics {
 public:
  explicit PipelineMetrics(std::string pipeline) : pipeline_(std::move(pipeline)) {}

  // The step called `name`, created on first use, described by its `kind`
  // and the steps after it (chain creation, not per record). The returned
  // object lives as long as *this.
  StepMetrics& step(const std::string& name, const std::string& kind, std::vector<std::string> next,
                    const std::string& plugin = "", const std::string& version = "");
  RuntimeMetrics& runtime() { return runtime_; }
  const RuntimeMetrics& runtime() const { return runtime_; }
  // The step called `name`, or null if none was ever described.
  StepMetrics* find(const std::string& name);
  const std::string& pipeline() const { return pipeline_; }

  // The metrics processing thread `index` (1 and up) writes, created on
  // first use and kept (a restarted runtime's thread counts on) for the
  // life of *this. Control plane: before the thread starts.
  PipelineMetrics& shard(size_t index);
  bool sharded() const;
  // A copy of these metrics with every shard's added: counters summed, a
  // step's descriptions from the first shard that has it, the clients'
  // statistics of shard i named "CLIENT#i". For readers (control plane).
  std::unique_ptr<PipelineMetrics> merged() const;

  // Reloads by outcome (the controller's; index = ReloadResult::Outcome).
  Counter reloads[3];
  Counter generation;
  // The admin thread's health watch (admin/health_watch.h), about once a
  // second: 1 when ready, else 0; how long a failure has lasted (ms; 0
  // when ready or only waiting: joining the group, a restore).
  Counter ready;
  Counter not_ready_ms;
  // The operator's pause (POST /pause, run --paused): the wall clock (ms)
  // it began, 0 when not paused. Written by the control thread.
  Counter paused_since_ms;
  // Fatal signals recorded in the crash journal, by step name ("" outside
  // a step). Set before the admin thread starts; read-only after.
  std::map<std::string, uint64_t> crashes;

  // librdkafka's statistics JSON of client `client` ("consumer", "sink
  // TOPIC", "dlq"), kept as text for the reader to parse (any thread; the
  // processing thread hands it over every statistics.interval.ms).
  void set_client_stats(const std::string& client, const char* json, size_t size);
  std::vector<std::pair<std::string, std::string>> client_stats() const;

  // The source's topic and consumer group, labels of the commit latency.
  // Control plane: set before the runtime starts.
  void set_source(std::string topic, std::string consumer_group);
  std::pair<std::string, std::string> source() const;

  // The assigned partitions, replaced whole by the processing thread (a
  // shard's by its own); read by status requests (any thread). partitions()
  // of a sharded host gives every thread's, each with its index.
  void set_partitions(std::vector<PartitionStatus> partitions);
  std::vector<PartitionStatus> partitions() const;

  // The sink (OutputSink::describe) waiting longest for acknowledgements,
  // "" when none waits: what RuntimeMetrics::delivery_wait_ms measures.
  // Set by the processing thread when it changes; read by health checks.
  void set_waiting_sink(std::string name);
  std::string waiting_sink() const;

  // The running generation's steps, replaced whole at each generation
  // (control plane). A step described before and not among them has left
  // the pipeline: its counters are still exported, its gauges (state, the
  // plugin serving it, its plugin's own) no longer. Never set: every step.
  void set_current_steps(std::vector<std::string> names);
  bool current(const std::string& step) const;

  // Reads every step (for exposition), under the lock that step() takes.
  template <class F>
  void for_each_step(F&& f) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& s : steps_) f(*s);
  }

 private:
  std::string pipeline_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<StepMetrics>> steps_;  // in order of first use
  std::vector<std::string> current_steps_;
  bool current_set_ = false;
  std::map<std::string, std::string> client_stats_;  // by client
  std::string waiting_sink_;
  std::pair<std::string, std::string> source_;  // topic, consumer group
  std::vector<PartitionStatus> partitions_;
  RuntimeMetrics runtime_;
  std::vector<std::unique_ptr<PipelineMetrics>> shards_;  // [i - 1]: thread i
};

// The index of an error kind (STREAMS_ERR_* or the host's) in kErrorKinds.
size_t error_kind_index(int32_t kind);

}  // namespace streams::metrics
