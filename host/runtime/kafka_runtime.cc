#include "runtime/kafka_runtime.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include "common/clock.h"
#include "common/crash_guard.h"
#include "common/fault_point.h"
#include "common/health_file.h"
#include "common/log.h"
#include "common/systemd_notify.h"
#include "kafka/changelog.h"
#include "kafka/kafka_source.h"
#include "kafka/partition_names.h"
#include "pipeline/batch_end.h"
#include "pipeline/error_routing.h"
#include "pipeline/partition_processor.h"
#include "pipeline/runtime_gauges.h"
#include "pipeline/swap_mailbox.h"
#include "runtime/restore_worker.h"
#include "runtime/threaded_runtime.h"
#include "sinks/registry.h"

namespace streams::kafka {
namespace {

using pipeline::Partition;
using pipeline::PartitionOffset;

constexpr int64_t kJoinWaitLogMs = 10000;
// While the operator's pause lasts, a reminder in the log this often.
constexpr int64_t kHeldNoteMs = 600000;
// A commit not confirmed by its result within this long is sent again (a
// result that never comes, or one that failed for some partitions only).
constexpr int64_t kCommitConfirmMs = 5000;
// A pipeline with state commits this often unless its source sets
// commit_interval_ms: each commit sends the changelog every key changed
// since the last one, so a longer interval sends a hot key once where a
// shorter sends it each time (Quix Streams commits every 5 s, Kafka
// Streams every 30 s). What it costs: up to this much input read again
// after a crash (its outputs identical duplicates) and a committed lag that
// long.
constexpr int kStatefulCommitIntervalMs = 5000;

class Runtime final : public KafkaRuntime,
                      public pipeline::SourceHandler,
                      public pipeline::SinkListener {
 public:
  Runtime(std::shared_ptr<const pipeline::Generation> g, RuntimeOptions options,
          std::unique_ptr<pipeline::Source> source)
      : g_(std::move(g)),
        options_(std::move(options)),
        metrics_(*options_.metrics),
        m_(metrics_.runtime()),
        source_(std::move(source)),
        health_(options_.healthcheck_file),
        gauges_(metrics_) {}
  ~Runtime() override;
  bool init(pipeline::SinkMaker& maker, std::string* error);

  int run(const std::atomic<bool>& stop) override;
  std::future<pipeline::SwapOutcome> swap_together(
      std::shared_ptr<const pipeline::Generation> next,
      std::shared_ptr<pipeline::SwapBarrier> barrier) override {
    auto outcome = mailbox_.post(std::move(next), std::move(barrier));
    source_->wake();
    return outcome;
  }
  bool cancel_swap(const std::string& why) override { return mailbox_.cancel(why); }
  void reopen_files() override {
    reopen_requested_.store(true);
    source_->wake();
  }
  void query_state(pipeline::StateQuery q, pipeline::StateReply reply) override;
  void set_paused(bool paused) override {
    pause_requested_.store(paused);
    source_->wake();
  }
  void request_stop() override {
    stop_requested_.store(true);
    source_->wake();
  }

  // pipeline::SourceHandler
  void on_assigned(const int32_t* partitions, size_t count) override;
  void on_revoked(const int32_t* partitions, size_t count, bool lost) override;
  void on_record(const pipeline::SourceRecord& record) override;
  bool wants_hints() const override { return processor_->wants_hints(); }
  uint64_t hint_soon(int32_t partition, std::string_view key) override {
    return processor_->hint_soon(partition, key);
  }
  void hint_next(int32_t partition, uint64_t hint) override {
    processor_->hint_next(partition, hint);
  }
  void on_commit_result(const PartitionOffset* results, size_t count) override;
  void on_source_failed(const std::string& reason) override { fail(reason); }
  void on_topic_unavailable(Unavailable why) override {
    m_.topic_unavailable.set(static_cast<uint64_t>(why));
  }

  // pipeline::SinkListener
  void on_written(uint64_t token) override {
    m_.produced.add();
    processor_->hold(token);
  }
  void on_acknowledged(pipeline::OutputSink& sink, uint64_t token) override {
    m_.delivered.add();
    if (&sink == sinks_.dlq()) m_.dead_letters.add();
    processor_->release(token);
  }
  void on_rejected(pipeline::OutputSink& sink, uint64_t token, const streams_record& output,
                   const char* reason) override;
  void on_failed(pipeline::OutputSink&, const char* reason) override { fail(reason); }

 private:
  bool stopping() const {
    return fatal_ || stop_->load(std::memory_order_relaxed) ||
           stop_requested_.load(std::memory_order_relaxed);
  }
  // Serves a pending swap() or reopen_files(), between two inputs.
  void apply_swap();
  void reopen();
  // Serves set_paused(), between two inputs.
  void hold(bool held);
  // Time limits of the chains, resumes of drained partitions, gauges.
  void tick();
  // Why no partitions came yet, once (a missing topic, a group waiting).
  void log_join_wait() const;
  // Commits what is committable, of `only` partitions when given, the
  // sinks flushed first unless `retry` (then what an earlier flush made
  // committable, once the changelog caught up).
  void commit(bool sync, const int32_t* only = nullptr, size_t only_count = 0, bool retry = false);
  void resolve_assigned();
  // True while the loop should take no records because a sink, or every
  // partition, is at its bound: see the definition.
  bool hold_source(int64_t now_ms);
  // Whether the sinks, or every partition that could take input, are at
  // `share` of their max_in_flight bounds.
  bool over_bounds(double share);
  // Resumes the partitions whose restore finished; publishes its progress.
  void serve_restores();
  bool restoring() const;
  // Answers the posted state queries (with 503 when `close`: none after).
  void serve_queries(bool close);
  // A commit of `offset` for `p` succeeded.
  void confirmed(Partition& p, int64_t offset);
  int shutdown();
  void fail(const std::string& reason);
  void warn(const std::string& line);
  void warn_failed_commits();
  bool rebalancing(std::string_view error);

  std::shared_ptr<const pipeline::Generation> g_;  // the first; processor_ has the running one
  RuntimeOptions options_;
  metrics::PipelineMetrics& metrics_;
  metrics::RuntimeMetrics& m_;
  std::unique_ptr<pipeline::Source> source_;
  pipeline::SinkSet sinks_;
  std::unique_ptr<pipeline::ErrorRouting> errors_;
  std::unique_ptr<pipeline::PartitionProcessor> processor_;
  pipeline::SwapMailbox mailbox_;
  HealthFile health_;
  SystemdNotify systemd_;
  pipeline::RuntimeGauges gauges_;
  const std::atomic<bool>* stop_ = nullptr;  // set by run()
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> reopen_requested_{false};
  std::atomic<bool> pause_requested_{false};
  int64_t paused_since_ms_ = 0;  // steady clock: when the operator's pause began
  int64_t paused_noted_ms_ = 0;  // steady clock: its last reminder in the log
  bool fatal_ = false;
  bool store_failed_ = false;        // a state checkpoint failed: nothing more is committed
  std::vector<int32_t> unresolved_;  // assigned stateful partitions to resolve
  state::ChangelogWriter* changelog_ = nullptr;  // options_.changelog's writer
  // A prepared offset waits for the changelog, its outputs or the commit
  // before: commit() tries again soon.
  bool awaiting_changelog_ = false;
  int64_t retry_commit_ms_ = 0;  // steady clock
  std::unique_ptr<RestoreWorker> restorer_;
  std::vector<RestoreWorker::Done> restored_;  // reused by serve_restores()
  std::mutex queries_mutex_;                   // guards queries_ and queries_closed_
  std::vector<std::pair<pipeline::StateQuery, pipeline::StateReply>> queries_;
  bool queries_closed_ = false;
  std::atomic<bool> queries_pending_{false};
  std::string why_;                              // reused by on_record()
  std::vector<PartitionOffset> offsets_;         // reused by commit() and tick()
  std::vector<PartitionOffset> failed_commits_;  // reused by on_commit_result()
  bool rebalance_noted_ = false;                 // said that commits wait for a rebalance
  int64_t subscribed_ms_ = 0;                    // steady clock
  bool commit_pending_ = false;                  // an async commit's result has not come yet
  int64_t commit_sent_ms_ = 0;                   // steady clock
  bool assigned_once_ = false;
  bool join_wait_logged_ = false;
  int64_t held_since_ms_ = -1;  // steady clock; -1: not holding (hold_source)
  bool hold_spent_ = false;     // held for the longest allowed: not again until below half
  log::RateLimitedLog client_log_{5};
};

// Chains first (their batches release holds), then the sinks while the
// trackers their late reports reach still exist.
Runtime::~Runtime() {
  if (restorer_) restorer_->cancel_all();
  if (processor_) processor_->revoke_all();
  sinks_.close();
}

bool Runtime::init(pipeline::SinkMaker& maker, std::string* error) {
  if (!sinks_.create(*g_, maker, *this, error)) return false;
  errors_ = std::make_unique<pipeline::ErrorRouting>(*g_, sinks_.dlq(), options_.error_policy);
  pipeline::PartitionProcessor::Options o;
  o.crash_journal = options_.crash_journal;
  o.state = options_.state;
  o.allow_dropped_state = options_.allow_dropped_state;
  o.state_flush_ms = options_.state_flush_ms;
  if (options_.changelog) {
    ChangelogParts& c = *options_.changelog;
    o.changelog = changelog_ = c.writer.get();
    restorer_ =
        std::make_unique<RestoreWorker>(*c.reader, *c.rewriter, [this] { source_->wake(); });
  }
  o.explain_quarantine = !sinks_.dlq() && options_.error_policy == config::ErrorPolicy::fail;
  processor_ =
      std::make_unique<pipeline::PartitionProcessor>(g_, sinks_, errors_->errors(), metrics_, o);
  return true;
}

int Runtime::run(const std::atomic<bool>& stop) {
  stop_ = &stop;
  crash::protect_this_thread();  // a stack overflow in a step is reported too
  const crash::ProcessingThread registered;
  const log::ThreadTag tag(options_.loops ? "thread " + std::to_string(options_.thread + 1) : "");
  // Plugins may keep per-thread resources (the GIL) across the calls of a
  // batch: every batch ends before this thread waits for anything.
  const pipeline::BatchScope batches;
  sinks_.set_stop_flag(&stop);
  std::string error;
  subscribed_ms_ = steady_ms();
  if (!source_->subscribe(*this, &error)) {
    fail(error);
    mailbox_.close();
    return 1;
  }
  systemd_.ready();
  log::info("consuming " + source_->topic() + " as group " + g_->consumer_group() +
            ", producing to " + sinks_.names() +
            (sinks_.dlq()
                 ? ", dead-letter queue " + sinks_.dlq()->describe()
                 : std::string(", error_policy ") + config::to_string(options_.error_policy)));
  const int64_t interval = commit_interval_ms(*g_);
  int64_t next_commit = steady_ms() + interval;
  while (!stopping()) {
    const int64_t now = steady_ms();
    m_.loop_ms.set(static_cast<uint64_t>(now));
    const int64_t alive = options_.loops ? options_.loops->turned(options_.thread, now) : now;
    health_.touch(alive);
    systemd_.alive(alive);
    if (mailbox_.pending() && !restoring()) apply_swap();
    if (reopen_requested_.load(std::memory_order_relaxed)) reopen();
    if (pause_requested_.load(std::memory_order_relaxed) != processor_->held()) {
      hold(!processor_->held());
    }
    if (queries_pending_.load(std::memory_order_acquire)) serve_queries(false);
    // While partitions are paused, wait for the acknowledgements that
    // resume them rather than for records, when any can come. Outputs held
    // back (batches filling) above half a sink's bound go first: a partition
    // paused at that bound waits for them, and the partitions left may
    // bring no input to fill them.
    int wait_ms = 100;
    if (processor_->paused() > 0 && !processor_->held()) {
      if (!sinks_.awaiting() && sinks_.over(0.5)) sinks_.seal();
      wait_ms = sinks_.awaiting() ? 0 : 5;
      if (wait_ms == 0) sinks_.poll(5);
    }
    // A plugin sink reports from its poll, after the source's wait: while
    // its next batches wait for a report, wait briefly, so that a write
    // done while no input comes (the tail of a burst) is acknowledged, and
    // the batch it lets go sent, without waiting out the 100 ms.
    if (sinks_.sends_wait_for_reports()) wait_ms = std::min(wait_ms, 2);
    // Changelog records wait for room in the producer: hand them over soon
    // (not at once: during an outage the room does not come).
    if (changelog_ && changelog_->queued() > 0) wait_ms = std::min(wait_ms, 5);
    if (hold_source(now)) {
      sinks_.poll(5);
    } else {
      source_->poll(wait_ms);
    }
    pipeline::end_batch();
    if (!unresolved_.empty()) resolve_assigned();
    if (restorer_) serve_restores();
    sinks_.poll(0);
    if (changelog_) changelog_->poll();
    tick();
    pipeline::end_batch();
    if (steady_ms() >= next_commit) {
      commit(/*sync=*/false);
      next_commit = steady_ms() + interval;
    } else if (awaiting_changelog_ && steady_ms() >= retry_commit_ms_) {
      commit(/*sync=*/false, nullptr, 0, /*retry=*/true);
    }
  }
  return shutdown();
}

// A sink at 90% of its max_in_flight bound, or every partition that could
// take input at 90% of its own: the loop stops taking records (they stay
// fetched) and waits for the sinks until below half, as a paused partition
// would. Pausing instead drops what librdkafka prefetched for the
// partition, which is fetched again on resume: under a store that is merely
// slower than the source, every partition paused and fetched its data
// again over and over. The hold lasts at most backpressure_hold_ms:
// records then come again (rebalances and commit results come with them)
// and each partition pauses at the one it cannot take, so a sink that is
// down leaves the host polling, in its group, as before.
bool Runtime::over_bounds(double share) {
  return sinks_.over(share) || processor_->every_partition_over(share);
}

bool Runtime::hold_source(int64_t now_ms) {
  if (options_.backpressure_hold_ms <= 0) return false;
  if (held_since_ms_ < 0) {
    if (hold_spent_ || !over_bounds(0.9)) {
      hold_spent_ = hold_spent_ && over_bounds(0.5);
      return false;
    }
    held_since_ms_ = now_ms;
    m_.holds.add();
    sinks_.seal();  // no input comes to fill the open batches
    return true;
  }
  if (!over_bounds(0.5)) {
    held_since_ms_ = -1;
    return false;
  }
  if (now_ms - held_since_ms_ < options_.backpressure_hold_ms) return true;
  held_since_ms_ = -1;
  hold_spent_ = true;
  return false;
}

void Runtime::apply_swap() {
  std::shared_ptr<const pipeline::Generation> next = mailbox_.take();
  if (!next) return;  // cancelled meanwhile
  std::string fatal;
  pipeline::SwapOutcome outcome = processor_->switch_to(std::move(next), mailbox_, &fatal);
  if (!fatal.empty()) fail(fatal);
  mailbox_.answer(std::move(outcome));
}

void Runtime::reopen() {
  reopen_requested_.store(false);
  if (!sinks_.reopen()) fail("a file sink could not be reopened; its inputs stay uncommitted");
}

void Runtime::hold(bool held) {
  processor_->hold_inputs(held);
  if (held) {
    paused_since_ms_ = paused_noted_ms_ = steady_ms();
    sinks_.seal();  // no input comes to fill the open batches
  }
}

void Runtime::on_record(const pipeline::SourceRecord& record) {
  // Inputs left when a stop comes stay uncommitted (read again later).
  if (stopping()) return;
  switch (processor_->process(record, &why_)) {
    case pipeline::Taken::paused:
      source_->pause(record.partition);
      sinks_.seal_partition(record.partition);
      if (!processor_->held()) {
        gauges_.log_pause(source_->topic(), record.partition, record.offset, why_, steady_ms());
      }
      break;
    case pipeline::Taken::restoring:
      source_->pause(record.partition);  // resumed from this record once restored
      break;
    case pipeline::Taken::fatal:
      fail(why_);
      break;
    case pipeline::Taken::processed:
    case pipeline::Taken::ignored:
      break;
  }
}

void Runtime::log_join_wait() const {
  if (const uint64_t why = m_.topic_unavailable.value()) {
    log::error("still waiting for the source topic " + source_->topic() + ": its brokers say " +
               (why == static_cast<uint64_t>(Unavailable::missing)
                    ? "it does not exist (create it, or correct the topic's name)"
                    : "this host may not read it (grant it, or correct the credentials)") +
               "; the host asks again about every second and joins its group once the topic "
               "exists");
    return;
  }
  log::info(
      "still waiting for the group to assign partitions: a group with a member that "
      "left without leaving (a killed or restarted host) waits for its "
      "session.timeout.ms (librdkafka's default is 45 s; set it lower in "
      "override_params, e.g. \"6000\" on the dev broker)");
}

void Runtime::tick() {
  gauges_.publish(*processor_, sinks_, errors_->skipped(), steady_ms());
  // After the assigned partitions' gauge: a reader never sees a member
  // with none that is only not yet published.
  if (assigned_once_) m_.group_joined.set(1);
  if (!assigned_once_ && !join_wait_logged_ && steady_ms() - subscribed_ms_ > kJoinWaitLogMs) {
    join_wait_logged_ = true;
    log_join_wait();
  }
  const int64_t now = steady_ms();
  if (processor_->held() && options_.thread == 0 && now - paused_noted_ms_ >= kHeldNoteMs) {
    paused_noted_ms_ = now;
    log::info("still paused by the operator, for " +
              std::to_string((now - paused_since_ms_) / 60000) +
              " min: nothing is read while the lag grows (streams-host resume, or POST /resume)");
  }
  offsets_.clear();
  processor_->take_resumable(&offsets_);
  for (const PartitionOffset& p : offsets_) source_->resume(p.partition, p.offset);
  std::string why;
  if (!fatal_ && !processor_->tick(steady_ms(), &why)) fail(why);
}

// A store refused one output for good: see ErrorRouting::on_refused.
void Runtime::on_rejected(pipeline::OutputSink& sink, uint64_t token, const streams_record& output,
                          const char* reason) {
  streams_origin origin{sizeof(streams_origin), source_->topic().c_str(), 0, 0};
  const bool known = processor_->input_of(token, &origin.partition, &origin.offset);
  std::string why;
  if (!errors_->on_refused(processor_->generation(), sinks_.index_of(sink),
                           known ? &origin : nullptr, token, output, reason, metrics_, &why)) {
    return fail(why);
  }
  processor_->release(token);  // a DLQ record holds it again
}

void Runtime::on_assigned(const int32_t* partitions, size_t count) {
  pipeline::end_batch();  // called from inside the source's poll
  assigned_once_ = true;
  m_.topic_unavailable.set(0);
  sinks_.partitions_changed(partitions, count, true);
  for (size_t i = 0; i < count; ++i) {
    std::string error;
    if (!processor_->assign(partitions[i], &error)) {
      fail("partition " + std::to_string(partitions[i]) + ": " + error);
    } else if (Partition* p = processor_->find(partitions[i]); p->state) {
      unresolved_.push_back(partitions[i]);
      // Nothing is processed until its state is restored: its first record
      // pauses it (Taken::restoring). Not paused here: a pause right after
      // the assign can leave librdkafka's start of the assignment's fetch
      // outdated, and the partition never fetches, even after a resume
      // (librdkafka issue #2190; e2e.state_faults stalled so).
      if (restorer_) p->restoring = true;
    }
  }
}

// Stateful partitions resolve their state where the source resumes: at
// their first input, or (so that an idle partition answers queries) at the
// committed offset, asked for outside the rebalance callback. With a
// changelog, at the committed offset (asked again until known), then their
// restore starts.
void Runtime::resolve_assigned() {
  std::vector<int32_t> later;
  for (int32_t number : unresolved_) {
    Partition* p = processor_->find(number);
    if (!p || !p->state || (p->state->resolved() && !p->restoring)) continue;
    int64_t offset = -1;
    std::string error;
    if (!source_->committed(number, &offset, 5000, &error)) {
      if (p->restoring) later.push_back(number);
      continue;
    }
    if (offset < 0 && !p->restoring) continue;
    if (!processor_->resolve(*p, std::max<int64_t>(offset, 0), &error)) {
      fail(error);
      continue;
    }
    if (p->restoring) {
      p->start_at = offset;
      restorer_->start(number, p->state.get());
    }
  }
  unresolved_.swap(later);
}

void Runtime::serve_restores() {
  restored_.clear();
  restorer_->take_done(&restored_);
  for (const RestoreWorker::Done& d : restored_) {
    Partition* p = processor_->find(d.partition);
    if (!p || !p->restoring) continue;
    if (!d.ok) {
      fail("state of partition " + std::to_string(d.partition) +
           ": restoring from the changelog failed: " + d.error);
      continue;
    }
    p->restoring = false;
    m_.restore_ms.add(static_cast<uint64_t>(d.ms));
    // Paused at its first record, when one came: fetched again from it (the
    // partition fetching by then, the seek cannot race its start).
    if (p->ignored_from >= 0) source_->resume(d.partition, p->ignored_from);
    p->ignored_from = -1;
    log::info("state: partition " + std::to_string(d.partition) + " restored in " +
              std::to_string(d.ms) + " ms; reading resumes at " +
              (p->start_at >= 0 ? "offset " + std::to_string(p->start_at)
                                : std::string("its reset position (nothing committed)")));
  }
  const auto& progress = restorer_->progress();
  m_.restoring_partitions.set(restorer_->busy());
  m_.restore_records.set(progress.records.load(std::memory_order_relaxed));
  m_.restore_bytes.set(progress.bytes.load(std::memory_order_relaxed));
  m_.restore_remaining.set(static_cast<uint64_t>(
      std::max<int64_t>(0, progress.remaining.load(std::memory_order_relaxed))));
}

bool Runtime::restoring() const {
  bool any = false;
  processor_->for_each([&](Partition& p) { any = any || p.restoring; });
  return any;
}

void Runtime::query_state(pipeline::StateQuery q, pipeline::StateReply reply) {
  {
    std::lock_guard<std::mutex> lock(queries_mutex_);
    if (!queries_closed_) {
      queries_.emplace_back(std::move(q), std::move(reply));
      queries_pending_.store(true, std::memory_order_release);
      source_->wake();
      return;
    }
  }
  reply({503, R"({"error": "the runtime has stopped"})"});
}

void Runtime::serve_queries(bool close) {
  std::vector<std::pair<pipeline::StateQuery, pipeline::StateReply>> queries;
  {
    std::lock_guard<std::mutex> lock(queries_mutex_);
    queries.swap(queries_);
    queries_pending_.store(false, std::memory_order_relaxed);
    queries_closed_ = queries_closed_ || close;
  }
  for (auto& [q, reply] : queries) {
    reply(close ? pipeline::StateAnswer{503, R"({"error": "the runtime is stopping"})"}
                : processor_->query(q));
  }
}

// Drains and commits before the partitions go, unless they are lost.
// Inputs held by open batches and windows, and one a failed step stopped
// at, stay uncommitted: the partition's next owner reads them again.
void Runtime::on_revoked(const int32_t* partitions, size_t count, bool lost) {
  pipeline::end_batch();  // called from inside the source's poll; drains wait
  if (!lost) {
    const int64_t timeout = g_->source_deployment().drain_timeout_ms;
    if (!sinks_.drain(steady_ms() + timeout))
      log::warn("revoke: outputs still in flight after drain");
    commit(/*sync=*/true, partitions, count);
  }
  sinks_.partitions_changed(partitions, count, false);
  for (size_t i = 0; i < count; ++i) {
    if (restorer_) restorer_->cancel(partitions[i]);  // it keeps its progress
    processor_->revoke(partitions[i]);
  }
}

// One asynchronous commit at a time: librdkafka retries a failed commit
// request by itself, and a retried older commit that lands after a newer one
// moves the group's offset back (seen on the dev broker with injected commit
// errors: the last commit was silently undone). The next commit waits for the
// result of the one before, up to kCommitConfirmMs.
void Runtime::commit(bool sync, const int32_t* only, size_t only_count, bool retry) {
  if (store_failed_) return;
  if (!retry && !sinks_.flush()) return fail("a sink failed to flush; its inputs stay uncommitted");
  m_.commit_checked_ms.set(static_cast<uint64_t>(wall_ms()));
  const int64_t now = steady_ms();
  // A retry waiting for the commit before keeps waiting (awaiting_changelog_ stays).
  if (!sync && commit_pending_ && now - commit_sent_ms_ < kCommitConfirmMs) return;
  awaiting_changelog_ = false;
  auto selected = [&](const Partition& p) {
    return !only || std::find(only, only + only_count, p.number) != only + only_count;
  };
  // State first (its changelog, its pending log): then the commit may land.
  // A retry prepares nothing new: it commits what was prepared before.
  processor_->for_each([&](Partition& p) {
    std::string why;
    if (!retry && !store_failed_ && selected(p) &&
        !processor_->prepare(p, processor_->processed_end(p), &why)) {
      store_failed_ = true;
      fail("state: " + why + "; stopping without committing further");
    }
  });
  if (store_failed_) return;
  if (sync && changelog_ && !changelog_->flush(g_->source_deployment().drain_timeout_ms)) {
    log::warn("state: changelog records still unacknowledged after drain_timeout_ms");
  }
  offsets_.clear();
  const int64_t wall = wall_ms();
  int64_t latency_ms = -1;  // of the newest input this commit covers, its oldest partition's
  processor_->for_each([&](Partition& p) {
    if (!selected(p)) return;
    const int64_t next = processor_->committable(p);
    std::string why;
    const int64_t offset = processor_->durable(p, next, &why);
    if (!why.empty() && !store_failed_) {
      store_failed_ = true;
      return fail("state: " + why + "; stopping without committing further");
    }
    awaiting_changelog_ = awaiting_changelog_ || (p.state && offset < p.state->prepared());
    const bool unconfirmed =
        p.commit.sent > p.commit.confirmed && now - p.commit.sent_ms > kCommitConfirmMs;
    // A synchronous commit (a stop, a revoke) is the last word on what is
    // committed: it does not count on an asynchronous one still out, whose
    // result may be a failure nobody serves any more.
    const bool settled =
        sync ? offset <= p.commit.confirmed : offset <= p.commit.sent && !unconfirmed;
    if (offset < 0 || settled) return;
    offsets_.push_back({p.number, offset, nullptr});
    const int64_t ts = offset == next ? processor_->committable_timestamp(p) : -1;
    if (ts >= 0) latency_ms = std::max(latency_ms, std::max<int64_t>(wall - ts, 0));
    p.commit.sent = offset;
    p.commit.sent_ms = now;
  });
  retry_commit_ms_ = now + 5;
  if (offsets_.empty() || store_failed_) return;
  fault_point("state-prepared");  // tests: a crash before the commit is sent
  std::string error;
  const bool sent = source_->commit(offsets_.data(), offsets_.size(), sync, &error);
  if (sent) fault_point("commit-sent");  // ... after, its result unknown
  commit_pending_ = !sync && sent;
  commit_sent_ms_ = now;
  if (!sent) {
    if (!rebalancing(error)) log::warn("commit failed, will retry: " + error);
    for (const PartitionOffset& o : offsets_) {
      if (Partition* p = processor_->find(o.partition)) p->commit.sent = -1;
    }
    return;
  }
  if (sync) {  // its result is known: every partition's commit succeeded
    for (const PartitionOffset& o : offsets_) {
      if (Partition* p = processor_->find(o.partition)) confirmed(*p, o.offset);
    }
  }
  m_.commits.add();
  m_.last_commit_ms.set(static_cast<uint64_t>(wall));
  if (latency_ms >= 0) {
    m_.commit_latency_ms.set(static_cast<uint64_t>(latency_ms));
    m_.commit_latency_at_ms.set(static_cast<uint64_t>(wall));
  }
}

// `offset` of `p` is committed: its state changes before it become durable.
void Runtime::confirmed(Partition& p, int64_t offset) {
  fault_point("commit-confirmed");  // tests: a crash before the checkpoint
  p.commit.confirmed = std::max(p.commit.confirmed, offset);
  std::string why;
  if (!processor_->checkpoint(p, p.commit.confirmed, &why)) {
    store_failed_ = true;
    fail("state: " + why + "; stopping without committing further");
  }
}

// A failed commit, of the request or of single partitions, is sent again
// by the next commit cycle; a successful one confirms its offsets.
void Runtime::on_commit_result(const PartitionOffset* results, size_t count) {
  pipeline::end_batch();
  commit_pending_ = false;
  for (size_t i = 0; i < count; ++i) {
    const PartitionOffset& r = results[i];
    Partition* p = processor_->find(r.partition);
    if (!r.error) {
      rebalance_noted_ = false;
      if (p) confirmed(*p, r.offset);
      continue;
    }
    if (p && p->commit.sent == r.offset) p->commit.sent = -1;
    failed_commits_.push_back({r.partition, r.offset, r.error});
  }
  warn_failed_commits();
}

// One line an error, its partitions as ranges: a rebalance fails the
// commits of every partition at once.
void Runtime::warn_failed_commits() {
  if (failed_commits_.empty()) return;
  std::stable_sort(failed_commits_.begin(), failed_commits_.end(),
                   [](const PartitionOffset& a, const PartitionOffset& b) {
                     return std::less<const char*>()(a.error, b.error);
                   });
  for (size_t i = 0; i < failed_commits_.size();) {
    const char* error = failed_commits_[i].error;
    std::vector<int32_t> partitions;
    for (; i < failed_commits_.size() && failed_commits_[i].error == error; ++i) {
      partitions.push_back(failed_commits_[i].partition);
    }
    if (rebalancing(error)) continue;
    warn("committing " + source_->topic() + "[" + kafka::partition_ranges(std::move(partitions)) +
         "]: " + error + "; will retry");
  }
  failed_commits_.clear();
}

// A commit refused because the group rebalances is expected at every
// scale-up or restart of a member: one line a rebalance, then quiet until
// a commit goes through. False for any other error.
bool Runtime::rebalancing(std::string_view error) {
  if (error != pipeline::kCommitRefusedRebalancing) return false;
  if (!rebalance_noted_) {
    log::info("commits wait for the group's rebalance; they are retried");
    rebalance_noted_ = true;
  }
  return true;
}

void Runtime::fail(const std::string& reason) {
  if (!fatal_) log::error(reason);
  fatal_ = true;
}

void Runtime::warn(const std::string& line) {
  uint64_t suppressed = 0;
  if (client_log_.allow(std::chrono::steady_clock::now(), &suppressed)) {
    log::warn(line + log::RateLimitedLog::note(suppressed));
  }
}

int Runtime::shutdown() {
  pipeline::end_batch();
  systemd_.stopping();
  if (restorer_) restorer_->cancel_all();  // a restore cut short goes on at the next start
  mailbox_.close();
  serve_queries(/*close=*/true);
  const int64_t timeout = g_->source_deployment().drain_timeout_ms;
  const bool drained = sinks_.drain(steady_ms() + timeout);
  commit(/*sync=*/true);
  if (options_.leave && !options_.leave->arrive(options_.thread, timeout)) {
    log::warn(
        "the other processing threads did not commit within drain_timeout_ms; leaving "
        "the group without them");
  }
  // Leaving the group revokes what is assigned (drained and committed again).
  if (!source_->close(timeout)) {
    log::warn("the consumer did not leave its group within drain_timeout_ms");
  }
  processor_->revoke_all();
  log::info("stopped: consumed " + std::to_string(m_.consumed.value()) + errors_->summary() +
            ", produced " + std::to_string(m_.produced.value()) + ", delivered " +
            std::to_string(m_.delivered.value()) + ", paused by backpressure " +
            std::to_string(m_.pauses.value()) + " time(s), held its source " +
            std::to_string(m_.holds.value()) + " time(s)");
  if (!drained && !fatal_) {
    log::error(
        "outputs still unacknowledged after drain_timeout_ms; their inputs stay "
        "uncommitted and will be processed again");
  }
  return fatal_ || !drained ? 1 : 0;
}

}  // namespace

std::unique_ptr<KafkaRuntime> create_runtime(std::shared_ptr<const pipeline::Generation> g,
                                             const RuntimeOptions& options,
                                             std::unique_ptr<pipeline::Source> source,
                                             pipeline::SinkMaker& sinks, std::string* error) {
  if (!options.metrics) {
    *error = "the runtime needs its metrics";
    return nullptr;
  }
  auto runtime = std::make_unique<Runtime>(std::move(g), options, std::move(source));
  if (!runtime->init(sinks, error)) return nullptr;
  return runtime;
}

namespace {

// How long the start waits for the source's cluster to say its id.
constexpr int kClusterProbeMs = 2000;

// The topics the host creates when missing (the one into the next segment,
// the changelogs), once for all processing threads.
bool ensure_topics(const pipeline::Generation& g, const RuntimeOptions& options,
                   std::string* error) {
  if (!ensure_crossing_topic(g, options.client_id, error)) return false;
  const ChangelogTopics topics = changelog_topics(g);
  return topics.steps.empty() || !options.state || options.changelog ||
         ensure_changelog_topics(g, topics, options.client_id, error);
}

// One processing thread's runtime, with its own Kafka clients (the topics
// ensured before).
// `fetch_wait`: the consumer's fetch.wait.max.ms default (source_fetch_wait).
std::unique_ptr<KafkaRuntime> create_thread(std::shared_ptr<const pipeline::Generation> g,
                                            const RuntimeOptions& options, int fetch_wait,
                                            std::string* error) {
  sinks::TypedSinkMaker sinks(options.client_id, *options.metrics);
  auto source = create_kafka_source(*g, options.client_id, *options.metrics, error, fetch_wait);
  if (!source) return nullptr;
  const ChangelogTopics topics = changelog_topics(*g);
  if (topics.steps.empty() || !options.state || options.changelog) {
    return create_runtime(std::move(g), options, std::move(source), sinks, error);
  }
  RuntimeOptions with = options;
  with.changelog = std::make_shared<ChangelogParts>();
  ChangelogParts& c = *with.changelog;
  c.writer = changelog_writer(*g, topics, options.client_id, error);
  if (c.writer) c.rewriter = changelog_writer(*g, topics, options.client_id + "-restore", error);
  if (c.rewriter) c.reader = changelog_reader(*g, topics, options.client_id, error);
  if (!c.reader) return nullptr;
  return create_runtime(std::move(g), with, std::move(source), sinks, error);
}

}  // namespace

std::unique_ptr<KafkaRuntime> create_kafka_runtime(std::shared_ptr<const pipeline::Generation> g,
                                                   const RuntimeOptions& options,
                                                   std::string* error) {
  if (!options.metrics) {
    *error = "the runtime needs its metrics";
    return nullptr;
  }
  if (!ensure_topics(*g, options, error)) return nullptr;
  const int fetch_wait = source_fetch_wait(*g, options.client_id, kClusterProbeMs);
  const int threads = g->source_settings().parallelism;
  if (threads <= 1) return create_thread(std::move(g), options, fetch_wait, error);
  if (options.changelog) {
    *error = "internal: a changelog given to a runtime of " + std::to_string(threads) +
             " processing threads (each makes its own)";
    return nullptr;
  }
  std::vector<std::unique_ptr<KafkaRuntime>> runtimes;
  auto loops = std::make_shared<LoopClocks>(static_cast<size_t>(threads));
  auto leave = std::make_shared<LeaveTogether>(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    RuntimeOptions o = options;
    o.loops = loops;
    o.leave = leave;
    o.thread = static_cast<size_t>(i);
    if (i > 0) {
      o.metrics = &options.metrics->shard(static_cast<size_t>(i));
      o.client_id += "-" + std::to_string(i + 1);
    }
    runtimes.push_back(create_thread(g, o, fetch_wait, error));
    if (!runtimes.back()) return nullptr;
  }
  log::info(std::to_string(threads) + " processing threads, each a member of group " +
            g->consumer_group() + " with its own consumer and producers");
  return threaded_runtime(std::move(runtimes), std::move(leave));
}

int64_t commit_interval_ms(const pipeline::Generation& g) {
  const config::StepDeployment& source = g.source_deployment();
  if (source.commit_interval_set) return source.commit_interval_ms;
  for (const pipeline::StepBinding& step : g.steps) {
    if (step.spec->state) return kStatefulCommitIntervalMs;
  }
  return source.commit_interval_ms;
}

}  // namespace streams::kafka
