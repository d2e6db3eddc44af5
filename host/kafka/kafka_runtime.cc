#include "kafka/kafka_runtime.h"

#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <vector>

#include "common/clock.h"
#include "common/crash_guard.h"
#include "common/log.h"
#include "kafka/kafka_conf.h"
#include "kafka/kafka_sink.h"
#include "pipeline/chain.h"
#include "pipeline/dead_letters.h"
#include "pipeline/error_limits.h"
#include "pipeline/error_policy.h"
#include "pipeline/local_sinks.h"
#include "pipeline/offset_tracker.h"

namespace streams::kafka {
namespace {

using Clock = std::chrono::steady_clock;
using pipeline::OffsetTracker;

constexpr int kBatch = 1024;
constexpr int64_t kDeliveryWaitWarnMs = 10000;
constexpr int64_t kJoinWaitLogMs = 10000;
// A commit not confirmed by its result within this long is sent again (a
// result that never comes, or one that failed for some partitions only).
constexpr int64_t kCommitConfirmMs = 5000;

struct PartitionState {
  int32_t partition = 0;
  uint32_t tracker_id = 0;
  std::unique_ptr<pipeline::Chain> chain;
  int64_t committed = -1;  // last offset sent in a commit
  int64_t confirmed = -1;  // the highest offset a commit result confirmed
  int64_t sent_ms = 0;     // steady clock: when `committed` was sent
  bool paused = false;     // by backpressure; fetching resumes at resume_at
  int64_t resume_at = -1;
  // Inputs that crashed the host crash_limit times, by offset; those before
  // next_quarantine were passed.
  std::vector<pipeline::Quarantine> quarantine;
  size_t next_quarantine = 0;
};

// The quarantine of the input at `offset`, if any. Offsets arrive in order
// (a resume reads again from the input that was not taken).
const pipeline::Quarantine* quarantine_at(PartitionState& p, int64_t offset) {
  while (p.next_quarantine < p.quarantine.size() &&
         p.quarantine[p.next_quarantine].offset < offset) {
    ++p.next_quarantine;
  }
  if (p.next_quarantine == p.quarantine.size()) return nullptr;
  const pipeline::Quarantine& q = p.quarantine[p.next_quarantine];
  return q.offset == offset ? &q : nullptr;
}

// A Kafka sink (or the DLQ) and its backpressure bounds.
struct SinkBudget {
  KafkaSink* sink;
  const pipeline::StepBinding* step;  // the sink step; null for the DLQ
  uint64_t max_messages;
  uint64_t max_bytes;
};

// A delivery token names a tracker (never reused) and a slot in it.
uint64_t make_token(uint32_t tracker_id, uint32_t slot) {
  return (static_cast<uint64_t>(tracker_id) << 32) | slot;
}

class Runtime final : public KafkaRuntime, public DeliveryListener, public pipeline::InputHolds {
 public:
  Runtime(std::shared_ptr<const pipeline::Generation> g, RuntimeOptions options)
      : g_(std::move(g)),
        options_(std::move(options)),
        topic_(g_->source_topic()),
        own_metrics_(options_.metrics ? nullptr : std::make_unique<metrics::PipelineMetrics>("")),
        metrics_(options_.metrics ? *options_.metrics : *own_metrics_),
        m_(metrics_.runtime()) {}
  ~Runtime() override;

  bool init(std::string* error);
  int run(const std::atomic<bool>& stop) override;
  std::future<pipeline::SwapOutcome> swap(
      std::shared_ptr<const pipeline::Generation> next) override;
  bool cancel_swap(const std::string& why) override;
  void reopen_files() override {
    reopen_requested_.store(true);
    if (queue_) rd_kafka_queue_yield(queue_);
  }
  void request_stop() override {
    stop_requested_.store(true);
    if (queue_) rd_kafka_queue_yield(queue_);  // set by init(), before any caller has *this
  }

  void on_produced(uint64_t token) override {
    m_.produced.add();
    if (OffsetTracker* t = tracker(token)) t->hold(static_cast<uint32_t>(token));
  }
  void on_delivered(KafkaSink& sink, uint64_t token, const char* error) override;
  void on_rejected(KafkaSink& sink, uint64_t token, const streams_record& output,
                   const char* reason) override;
  void on_client_error(int err, const char* reason) override { on_error(err, reason); }
  void on_stats(const KafkaSink& sink, const char* json, size_t size) override {
    metrics_.set_client_stats(&sink == dlq_.get() ? "dlq" : "sink " + sink.topic(), json, size);
  }
  // Batches and windows hold the inputs they started with.
  void hold(uint64_t token) override {
    if (OffsetTracker* t = tracker(token)) t->hold(static_cast<uint32_t>(token));
  }
  void release(uint64_t token) override {
    if (OffsetTracker* t = tracker(token)) t->release(static_cast<uint32_t>(token));
  }

  void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  void on_commit_result(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets);
  void on_error(int err, const char* reason);
  void consumer_stats(const char* json, size_t size) {
    metrics_.set_client_stats("consumer", json, size);
  }

 private:
  bool stopping() const {
    return fatal_ || stop_->load(std::memory_order_relaxed) ||
           stop_requested_.load(std::memory_order_relaxed);
  }
  void process(const rd_kafka_message_t* msg);
  // Serves a pending swap(), between two inputs.
  void apply_swap();
  // Serves reopen_files(), between two inputs.
  void reopen();
  // From now on swap() refuses; a pending one is refused too.
  void refuse_swaps();
  pipeline::SwapOutcome switch_partitions(std::shared_ptr<const pipeline::Generation> next);
  void consumer_error(const rd_kafka_message_t* msg);
  // Runs the chains' time limits (batch max_wait_ms, window idle_flush_ms),
  // resumes drained partitions and publishes the gauges.
  void tick();
  void publish_gauges();
  void warn_delivery_wait(const KafkaSink& sink, int64_t wait_ms);
  // Marks the loop as turning (liveness) and touches the healthcheck file.
  void heartbeat();
  // Why partition `p` cannot take another input now (null: it can), with
  // the bounds scaled by `share` (1: pause at the bound, 0.5: resume below half).
  const char* backpressure(const PartitionState& p, double share);
  void pause(PartitionState& p, int64_t offset, const char* why);
  void resume_drained();
  void assign(rd_kafka_topic_partition_list_t* parts);
  void revoke(rd_kafka_topic_partition_list_t* parts);
  // Loads the partition's quarantined inputs from the crash journal.
  void quarantine(PartitionState& p);
  bool drain(Clock::time_point deadline);
  bool create_sinks(std::string* error);
  // The DLQ producer (when the source has a `dlq`) and the error handlers.
  bool create_error_handling(std::string* error);
  // Serves delivery reports, waiting up to `timeout_ms` on the first producer.
  void poll_sinks(int timeout_ms);
  bool flush_sinks();
  std::string sink_names() const;
  void commit(bool sync, const rd_kafka_topic_partition_list_t* only);
  int shutdown();
  void close_consumer(Clock::time_point deadline);
  void fail(const std::string& reason);
  OffsetTracker* tracker(uint64_t token) {
    auto id = static_cast<size_t>(token >> 32);
    return id < trackers_.size() ? trackers_[id].get() : nullptr;
  }
  bool cooperative() const {
    return std::strcmp(rd_kafka_rebalance_protocol(consumer_), "COOPERATIVE") == 0;
  }
  PartitionState* partition(int32_t p) {
    return p >= 0 && static_cast<size_t>(p) < partitions_.size() ? partitions_[p].get() : nullptr;
  }

  std::shared_ptr<const pipeline::Generation> g_;
  RuntimeOptions options_;
  std::string topic_;
  std::unique_ptr<metrics::PipelineMetrics> own_metrics_;  // when none is given
  metrics::PipelineMetrics& metrics_;
  metrics::RuntimeMetrics& m_;
  rd_kafka_t* consumer_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;
  std::vector<std::unique_ptr<pipeline::OutputSink>> sinks_;  // by Generation::sinks index
  std::vector<pipeline::OutputSink*> sink_ptrs_;              // the same, for Chains
  std::vector<KafkaSink*> kafka_sinks_;                       // the Kafka ones, to poll
  std::vector<SinkBudget> budgets_;                           // the same, with the DLQ
  std::vector<std::unique_ptr<OffsetTracker>> trackers_;      // by id, never reused
  std::vector<int32_t> tracker_partitions_;                   // by tracker id
  std::vector<std::unique_ptr<PartitionState>> partitions_;   // by partition number
  std::vector<streams_header> headers_;                       // the current input's headers, reused
  pipeline::Quarantine bad_headers_;                          // an input whose headers do not parse
  rd_kafka_message_t* batch_[kBatch];
  const std::atomic<bool>* stop_ = nullptr;  // set by run()
  bool fatal_ = false;
  bool closed_ = false;                                  // the consumer has left its group
  std::unique_ptr<KafkaSink> dlq_;                       // null: no DLQ
  std::unique_ptr<pipeline::NoDlqPolicy> no_dlq_;        // without a DLQ
  std::unique_ptr<pipeline::DeadLetters> dead_letters_;  // with one
  std::unique_ptr<pipeline::LimitedErrors> errors_;      // wraps the one in use; given to chains
  uint32_t paused_ = 0;                                  // partitions paused by backpressure
  int64_t last_touch_ms_ = 0;                            // of the healthcheck file, steady clock
  uint64_t inputs_ = 0;                                  // processed, for sampling process_seconds
  std::string pause_reason_;
  // swap(): the next generation and its outcome, under swap_mutex_.
  std::mutex swap_mutex_;
  std::shared_ptr<const pipeline::Generation> next_;
  std::promise<pipeline::SwapOutcome> swapped_;
  std::atomic<bool> swap_pending_{false};
  // Under swap_mutex_: the processing thread is building successors for a
  // swap (cancel_swap() may still give it up: `swap_cancelled_`).
  bool swap_building_ = false;
  std::string swap_cancelled_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> reopen_requested_{false};
  std::vector<pipeline::FileSink*> file_sinks_;  // of sinks_, to reopen
  bool running_ = true;                          // false once run() returned; under swap_mutex_
  log::RateLimitedLog client_log_{5};
  Clock::time_point last_wait_warning_{};
  int64_t subscribed_ms_ = 0;    // steady clock, when run() subscribed
  bool commit_pending_ = false;  // an async commit's result has not come yet
  int64_t commit_sent_ms_ = 0;   // steady clock
  bool assigned_once_ = false;
  bool join_wait_logged_ = false;
  log::RateLimitedLog pause_log_{1};
};

// "TOPIC[P]@OFFSET, ..." (the offset only when one is set), for log lines.
std::string partition_names(const rd_kafka_topic_partition_list_t* parts) {
  std::string out;
  for (int i = 0; i < parts->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = parts->elems[i];
    out += (i ? ", " : "") + std::string(tp.topic) + "[" + std::to_string(tp.partition) + "]";
    if (tp.offset >= 0) out += "@" + std::to_string(tp.offset);
  }
  return out.empty() ? "no partitions" : out;
}

Runtime* from_opaque(void* opaque) { return static_cast<Runtime*>(opaque); }

void rebalance_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                  void* opaque) {
  from_opaque(opaque)->on_rebalance(err, parts);
}

void commit_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
               void* opaque) {
  from_opaque(opaque)->on_commit_result(err, offsets);
}

void consumer_error_cb(rd_kafka_t*, int err, const char* reason, void* opaque) {
  from_opaque(opaque)->on_error(err, reason);
}

int consumer_stats_cb(rd_kafka_t*, char* json, size_t size, void* opaque) {
  from_opaque(opaque)->consumer_stats(json, size);
  return 0;  // librdkafka frees the JSON
}

Runtime::~Runtime() {
  partitions_.clear();
  kafka_sinks_.clear();
  sink_ptrs_.clear();
  sinks_.clear();
  dlq_.reset();
  if (queue_) rd_kafka_queue_destroy(queue_);
  if (consumer_) {
    rd_kafka_destroy_flags(consumer_, closed_ ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }
}

bool Runtime::create_sinks(std::string* error) {
  for (size_t i = 0; i < g_->sinks.size(); ++i) {
    const pipeline::SinkBinding& sink = g_->sinks[i];
    std::unique_ptr<pipeline::OutputSink> made;
    if (sink.type == config::SinkType::kafka) {
      rd_kafka_conf_t* pconf = producer_conf(*g_, i, options_.client_id, error);
      if (!pconf) return false;
      auto kafka = KafkaSink::create(pconf, sink.topic, *this, error);
      if (!kafka) return false;
      kafka_sinks_.push_back(kafka.get());
      const config::StepDeployment& d = g_->sink_deployment(i);
      budgets_.push_back(
          {kafka.get(), &g_->steps[sink.step], d.max_in_flight_messages, d.max_in_flight_bytes});
      made = std::move(kafka);
    } else if (sink.type == config::SinkType::file) {
      auto file = pipeline::FileSink::open(sink.path, sink.fsync, error);
      if (!file) return false;
      file_sinks_.push_back(file.get());
      made = std::move(file);
    } else {
      made = std::make_unique<pipeline::DevNullSink>();
    }
    sink_ptrs_.push_back(made.get());
    sinks_.push_back(std::move(made));
  }
  return true;
}

bool Runtime::create_error_handling(std::string* error) {
  const config::StepDeployment& source = g_->source_deployment();
  pipeline::ErrorHandler* policy = nullptr;
  if (source.dlq.topic.empty()) {
    no_dlq_ = std::make_unique<pipeline::NoDlqPolicy>(options_.error_policy);
    policy = no_dlq_.get();
  } else {
    rd_kafka_conf_t* conf = dlq_producer_conf(*g_, options_.client_id, error);
    if (!conf) return false;
    dlq_ = KafkaSink::create(conf, source.dlq.topic, *this, error);
    if (!dlq_) return false;
    kafka_sinks_.push_back(dlq_.get());
    const config::StepDeployment defaults;
    budgets_.push_back(
        {dlq_.get(), nullptr, defaults.max_in_flight_messages, defaults.max_in_flight_bytes});
    dead_letters_ = std::make_unique<pipeline::DeadLetters>(*dlq_, source.dlq.topic);
    policy = dead_letters_.get();
  }
  errors_ = std::make_unique<pipeline::LimitedErrors>(*policy, source.error_limits);
  return true;
}

void Runtime::poll_sinks(int timeout_ms) {
  for (size_t i = 0; i < kafka_sinks_.size(); ++i) kafka_sinks_[i]->poll(i == 0 ? timeout_ms : 0);
}

bool Runtime::flush_sinks() {
  bool ok = true;
  for (auto& sink : sinks_) ok = sink->flush() && ok;
  if (!ok) fail("a sink failed to flush; its inputs stay uncommitted");
  return ok;
}

std::string Runtime::sink_names() const {
  std::string out;
  for (const auto& sink : g_->sinks) {
    out += (out.empty() ? "" : ", ") + (sink.type == config::SinkType::kafka ? sink.topic
                                        : sink.type == config::SinkType::file
                                            ? "file " + sink.path
                                            : std::string("devnull"));
  }
  return out;
}

bool Runtime::init(std::string* error) {
  if (!create_sinks(error) || !create_error_handling(error)) return false;

  rd_kafka_conf_t* cconf = consumer_conf(*g_, options_.client_id, error);
  if (!cconf) return false;
  rd_kafka_conf_set_opaque(cconf, this);
  rd_kafka_conf_set_rebalance_cb(cconf, &rebalance_cb);
  rd_kafka_conf_set_offset_commit_cb(cconf, &commit_cb);
  rd_kafka_conf_set_error_cb(cconf, &consumer_error_cb);
  rd_kafka_conf_set_stats_cb(cconf, &consumer_stats_cb);
  char reason[512];
  consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, reason, sizeof reason);
  if (!consumer_) {
    rd_kafka_conf_destroy(cconf);
    *error = std::string("cannot create consumer: ") + reason;
    return false;
  }
  rd_kafka_poll_set_consumer(consumer_);
  queue_ = rd_kafka_queue_get_consumer(consumer_);
  return true;
}

int Runtime::run(const std::atomic<bool>& stop) {
  stop_ = &stop;
  crash::protect_this_thread();  // a stack overflow in a step is reported too
  crash::set_processing_thread(&crash::in_flight());
  for (KafkaSink* sink : kafka_sinks_) sink->set_stop_flag(&stop);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic_.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer_, topics);
  subscribed_ms_ = steady_ms();
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) {
    fail("cannot subscribe to " + topic_ + ": " + rd_kafka_err2str(err));
    refuse_swaps();
    return 1;
  }
  log::info("consuming " + topic_ + " as group " + g_->consumer_group() + ", producing to " +
            sink_names() +
            (dlq_ ? ", dead-letter queue " + dlq_->topic()
                  : std::string(", error_policy ") + config::to_string(options_.error_policy)));
  const auto interval = std::chrono::milliseconds(g_->source_deployment().commit_interval_ms);
  auto next_commit = Clock::now() + interval;
  while (!stopping()) {
    heartbeat();
    if (swap_pending_.load(std::memory_order_acquire)) apply_swap();
    if (reopen_requested_.load(std::memory_order_relaxed)) reopen();
    // Block for the first message only, then take what is already queued.
    // While partitions are paused, wait for the deliveries that resume them.
    if (paused_ > 0) poll_sinks(5);
    if (rd_kafka_message_t* first = rd_kafka_consumer_poll(consumer_, paused_ > 0 ? 0 : 100)) {
      process(first);
      rd_kafka_message_destroy(first);
      ssize_t n = rd_kafka_consume_batch_queue(queue_, 0, batch_, kBatch);
      // Inputs left when a stop comes stay uncommitted (read again later).
      for (ssize_t i = 0; i < n; ++i) {
        if (!stopping()) process(batch_[i]);
        rd_kafka_message_destroy(batch_[i]);
      }
    }
    poll_sinks(0);
    tick();
    if (Clock::now() >= next_commit) {
      commit(/*sync=*/false, nullptr);
      next_commit = Clock::now() + interval;
    }
  }
  return shutdown();
}

std::future<pipeline::SwapOutcome> Runtime::swap(std::shared_ptr<const pipeline::Generation> next) {
  std::lock_guard<std::mutex> lock(swap_mutex_);
  std::promise<pipeline::SwapOutcome> promise;
  auto future = promise.get_future();
  if (!running_ || swap_pending_.load() || swap_building_) {
    pipeline::SwapOutcome refused;
    refused.error = running_ ? "another reload is being applied" : "the host is stopping";
    promise.set_value(std::move(refused));
    return future;
  }
  next_ = std::move(next);
  swapped_ = std::move(promise);
  swap_pending_.store(true, std::memory_order_release);
  if (queue_) rd_kafka_queue_yield(queue_);  // wakes a blocking consumer poll
  return future;
}

void Runtime::reopen() {
  reopen_requested_.store(false);
  for (pipeline::FileSink* sink : file_sinks_) {
    if (!sink->reopen()) fail("a file sink could not be reopened; its inputs stay uncommitted");
  }
}

void Runtime::apply_swap() {
  std::shared_ptr<const pipeline::Generation> next;
  {
    std::lock_guard<std::mutex> lock(swap_mutex_);
    if (!swap_pending_.load()) return;  // cancelled meanwhile
    next = std::move(next_);
    swap_pending_.store(false);
    swap_building_ = true;
    swap_cancelled_.clear();
  }
  pipeline::SwapOutcome outcome = switch_partitions(std::move(next));
  std::lock_guard<std::mutex> lock(swap_mutex_);
  swap_building_ = false;
  if (swap_cancelled_.empty()) swapped_.set_value(std::move(outcome));  // else answered
}

bool Runtime::cancel_swap(const std::string& why) {
  std::lock_guard<std::mutex> lock(swap_mutex_);
  const bool pending = swap_pending_.exchange(false);
  if (!pending && (!swap_building_ || !swap_cancelled_.empty())) return false;
  // Not begun, or building successors (a create may be stuck): answered now;
  // switch_partitions() sees swap_cancelled_ before it switches anything.
  pipeline::SwapOutcome refused;
  refused.error = why;
  swapped_.set_value(std::move(refused));
  next_.reset();
  if (!pending) swap_cancelled_ = why;
  return true;
}

// Creates every partition's successor first, so a failure changes nothing;
// then each takes over from its predecessor. Outputs already written stay
// tracked by the partition's OffsetTracker, whatever Chain wrote them.
pipeline::SwapOutcome Runtime::switch_partitions(std::shared_ptr<const pipeline::Generation> next) {
  const auto started = Clock::now();
  pipeline::SwapOutcome outcome;
  std::vector<std::unique_ptr<pipeline::Chain>> successors(partitions_.size());
  for (size_t i = 0; i < partitions_.size(); ++i) {
    if (!partitions_[i]) continue;
    std::string error;
    successors[i] = pipeline::Chain::create_successor(next, *partitions_[i]->chain, &error);
    if (!successors[i]) {
      outcome.error = "partition " + std::to_string(i) + ": " + error;
      return outcome;
    }
  }
  {
    // From here on the swap happens, unless a cancel came first.
    std::lock_guard<std::mutex> lock(swap_mutex_);
    if (!swap_cancelled_.empty()) {
      outcome.error = swap_cancelled_;
      return outcome;
    }
    swap_building_ = false;  // switching: too late to cancel
  }
  for (size_t i = 0; i < partitions_.size(); ++i) {
    PartitionState* p = partitions_[i].get();
    if (!p) continue;
    if (successors[i]->take_over(*p->chain) == pipeline::ChainResult::fatal) {
      fail("pipeline stopped on partition " + std::to_string(i) + " while switching generations");
    }
    const int64_t last = trackers_[p->tracker_id]->last_begun();
    outcome.switch_points.emplace_back(p->partition, p->paused  ? p->resume_at
                                                     : last < 0 ? -1
                                                                : last + 1);
    p->chain = std::move(successors[i]);
  }
  g_ = std::move(next);  // the controller holds the old one: it unloads on its thread
  outcome.ok = true;
  outcome.switch_us =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
  outcome.took_effect_ms = wall_ms();
  return outcome;
}

void Runtime::process(const rd_kafka_message_t* msg) {
  if (msg->err) return consumer_error(msg);
  PartitionState* p = partition(msg->partition);
  if (!p) return;         // fetched before a revoke; not ours any more
  if (p->paused) return;  // fetched before the pause; read again from resume_at
  if (const char* why = backpressure(*p, 1.0)) return pause(*p, msg->offset, why);
  m_.consumed.add();
  m_.consumed_bytes.add(msg->len + msg->key_len);
  OffsetTracker& t = *trackers_[p->tracker_id];
  const uint32_t slot = t.begin(msg->offset, msg->len + msg->key_len);

  streams_record record{};
  record.struct_size = sizeof(record);
  record.key = {static_cast<const uint8_t*>(msg->key), msg->key_len};
  record.value = {static_cast<const uint8_t*>(msg->payload), msg->len};
  record.timestamp_ms = rd_kafka_message_timestamp(msg, nullptr);
  const pipeline::Quarantine* quarantine =
      p->next_quarantine < p->quarantine.size() ? quarantine_at(*p, msg->offset) : nullptr;
  rd_kafka_headers_t* hdrs = nullptr;
  const rd_kafka_resp_err_t header_err = rd_kafka_message_headers(msg, &hdrs);
  if (header_err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    headers_.resize(rd_kafka_header_cnt(hdrs));
    for (size_t i = 0; i < headers_.size(); ++i) {
      const char* name = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      rd_kafka_header_get_all(hdrs, i, &name, &value, &size);
      headers_[i] = {{reinterpret_cast<const uint8_t*>(name), std::strlen(name)},
                     {static_cast<const uint8_t*>(value), size}};
    }
    record.headers = headers_.data();
    record.header_count = headers_.size();
  } else if (header_err != RD_KAFKA_RESP_ERR__NOENT) {
    // Never handed on as a record without headers: a record error.
    bad_headers_ = {
        msg->offset, "",
        std::string("the record's header block cannot be parsed: ") + rd_kafka_err2str(header_err),
        STREAMS_ERR_INVALID_INPUT};
    quarantine = &bad_headers_;
  }
  const streams_origin origin{sizeof(streams_origin), topic_.c_str(), msg->partition, msg->offset};
  // On a stop the slot stays held: nothing at or after this offset is committed.
  // One input in 64 is timed (two clock reads) for the process_seconds histogram.
  const bool timed = (++inputs_ & 63) == 0;
  const auto started = timed ? Clock::now() : Clock::time_point{};
  const pipeline::ChainResult result =
      p->chain->process(record, origin, make_token(p->tracker_id, slot), quarantine);
  if (timed) {
    m_.process_seconds.observe(std::chrono::duration<double>(Clock::now() - started).count());
  }
  if (result == pipeline::ChainResult::fatal) {
    fail("pipeline stopped at " + pipeline::origin_text(origin));
    return;
  }
  std::string why;
  if (!errors_->end_input(&why)) {
    fail("too many failed records: " + why + "; stopped at " + pipeline::origin_text(origin) +
         " (not committed)");
    return;
  }
  t.release(slot);
}

const char* Runtime::backpressure(const PartitionState& p, double share) {
  const config::StepDeployment& source = g_->source_deployment();
  const OffsetTracker& t = *trackers_[p.tracker_id];
  if (t.full() || t.in_flight() >= share * source.max_in_flight_messages) {
    return "max_in_flight_messages inputs of the partition are not yet committable";
  }
  if (t.in_flight_bytes() >= share * source.max_in_flight_bytes) {
    return "max_in_flight_bytes of the partition's inputs are not yet committable";
  }
  for (const SinkBudget& b : budgets_) {
    if (b.sink->pending() >= share * b.max_messages ||
        b.sink->pending_bytes() >= share * b.max_bytes) {
      pause_reason_ = "sink " + b.sink->topic() + " has " + std::to_string(b.sink->pending()) +
                      " outputs (" + std::to_string(b.sink->pending_bytes()) +
                      " bytes) unacknowledged, at its max_in_flight bound";
      return pause_reason_.c_str();
    }
  }
  return nullptr;
}

void Runtime::pause(PartitionState& p, int64_t offset, const char* why) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic_.c_str(), p.partition);
  rd_kafka_pause_partitions(consumer_, list);
  rd_kafka_topic_partition_list_destroy(list);
  p.paused = true;
  p.resume_at = offset;
  ++paused_;
  m_.pauses.add();
  uint64_t suppressed = 0;
  if (pause_log_.allow(Clock::now(), &suppressed)) {
    const std::string partition = std::to_string(p.partition);
    log::write(log::Level::info,
               "backpressure: paused " + topic_ + "[" + partition + "] at " +
                   std::to_string(offset) + ": " + why + log::RateLimitedLog::note(suppressed),
               {{"topic", topic_}, {"partition", partition}});
  }
}

// Resumes each paused partition whose inputs and the sinks drained to half
// their bounds, fetching again from the input it could not take (a pause
// drops what was prefetched).
void Runtime::resume_drained() {
  if (paused_ == 0) return;
  for (auto& p : partitions_) {
    if (!p || !p->paused || backpressure(*p, 0.5)) continue;
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic_.c_str(), p->partition)->offset = p->resume_at;
    if (rd_kafka_error_t* e = rd_kafka_seek_partitions(consumer_, list, 0)) {
      log::warn(std::string("backpressure: seek before resume: ") + rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
    rd_kafka_resume_partitions(consumer_, list);
    rd_kafka_topic_partition_list_destroy(list);
    p->paused = false;
    --paused_;
  }
}

void Runtime::heartbeat() {
  const int64_t now = steady_ms();
  m_.loop_ms.set(static_cast<uint64_t>(now));
  if (options_.healthcheck_file.empty() || now - last_touch_ms_ < 1000) return;
  last_touch_ms_ = now;
  const int fd = ::open(options_.healthcheck_file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || ::futimens(fd, nullptr) != 0) {
    uint64_t suppressed = 0;
    if (client_log_.allow(Clock::now(), &suppressed)) {
      log::warn("cannot touch the healthcheck file " + options_.healthcheck_file + ": " +
                std::strerror(errno) + log::RateLimitedLog::note(suppressed));
    }
  }
  if (fd >= 0) ::close(fd);
}

void Runtime::publish_gauges() {
  uint64_t inputs = 0, bytes = 0, assigned = 0, unacknowledged = 0;
  for (const auto& p : partitions_) {
    if (!p) continue;
    ++assigned;
    inputs += trackers_[p->tracker_id]->in_flight();
    bytes += trackers_[p->tracker_id]->in_flight_bytes();
  }
  const int64_t now = steady_ms();
  const KafkaSink* waiting = nullptr;
  int64_t wait_ms = 0;
  for (const KafkaSink* sink : kafka_sinks_) {
    unacknowledged += static_cast<uint64_t>(sink->pending());
    if (sink->waiting_ms(now) > wait_ms) {
      wait_ms = sink->waiting_ms(now);
      waiting = sink;
    }
  }
  m_.delivery_wait_ms.set(static_cast<uint64_t>(wait_ms));
  if (waiting && wait_ms >= kDeliveryWaitWarnMs) warn_delivery_wait(*waiting, wait_ms);
  m_.assigned_partitions.set(assigned);
  m_.paused_partitions.set(paused_);
  m_.in_flight.set(inputs);
  m_.in_flight_bytes.set(bytes);
  m_.unacknowledged.set(unacknowledged);
  m_.skipped.set(no_dlq_ ? no_dlq_->skipped() : 0);
}

// Once every kDeliveryWaitWarnMs while it lasts.
void Runtime::warn_delivery_wait(const KafkaSink& sink, int64_t wait_ms) {
  const auto now = Clock::now();
  if (now - last_wait_warning_ < std::chrono::milliseconds(kDeliveryWaitWarnMs)) return;
  last_wait_warning_ = now;
  log::warn(std::string(&sink == dlq_.get() ? "dead-letter queue " : "sink ") + sink.topic() +
            ": " + std::to_string(sink.pending()) + " output(s) without a delivery report for " +
            std::to_string(wait_ms / 1000) + " s (brokers down?); their inputs stay uncommitted");
}

void Runtime::tick() {
  publish_gauges();
  if (!assigned_once_ && !join_wait_logged_ && steady_ms() - subscribed_ms_ > kJoinWaitLogMs) {
    join_wait_logged_ = true;
    log::info(
        "still waiting for the group to assign partitions: a group with a member that "
        "left without leaving (a killed or restarted host) waits for its "
        "session.timeout.ms (librdkafka's default is 45 s; set it lower in "
        "override_params, e.g. \"6000\" on the dev broker)");
  }
  resume_drained();
  const int64_t now = steady_ms();
  for (auto& p : partitions_) {
    if (p && !fatal_ && p->chain->tick(now) == pipeline::ChainResult::fatal) {
      fail("pipeline stopped on partition " + std::to_string(p->partition));
    }
  }
}

void Runtime::consumer_error(const rd_kafka_message_t* msg) {
  if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
  const std::string what = rd_kafka_message_errstr(msg);
  if (msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
    fail("no valid offset to start from and auto_offset_reset is 'error': " + what);
    return;
  }
  uint64_t suppressed = 0;
  if (client_log_.allow(Clock::now(), &suppressed)) {
    log::warn("consumer: " + what + log::RateLimitedLog::note(suppressed));
  }
}

void Runtime::on_delivered(KafkaSink& sink, uint64_t token, const char* error) {
  OffsetTracker* t = tracker(token);
  if (error) {
    // The sink cannot deliver (no time limit is the default, so this is an
    // overridden message.timeout.ms or a failure of the sink itself): stop,
    // the input stays uncommitted and a restart retries it.
    fail(std::string("delivery failed: ") + error);
    return;
  }
  m_.delivered.add();
  if (&sink == dlq_.get()) m_.dead_letters.add();
  if (t) t->release(static_cast<uint32_t>(token));
}

// A broker refused one output for good: a record error of the sink step,
// handled like any other (DLQ, skip or stop) before its hold is released.
void Runtime::on_rejected(KafkaSink& sink, uint64_t token, const streams_record& output,
                          const char* reason) {
  const SinkBudget* owner = nullptr;
  for (const SinkBudget& b : budgets_) {
    if (b.sink == &sink) owner = &b;
  }
  OffsetTracker* t = tracker(token);
  if (owner && !owner->step && t && dead_letters_ &&
      dead_letters_->send_envelope(output, token, reason)) {
    t->release(static_cast<uint32_t>(token));  // held again by the envelope
    return;
  }
  if (!owner || !owner->step || !t) {
    fail(std::string("the dead-letter queue refused a record even without its key, value and "
                     "headers: ") +
         reason + "; the pipeline stops so that it is not lost");
    return;
  }
  const auto slot = static_cast<uint32_t>(token);
  const streams_origin origin{sizeof(streams_origin), topic_.c_str(),
                              tracker_partitions_[token >> 32], t->offset(slot)};
  pipeline::RecordError e{owner->step, pipeline::kErrSinkRejected, reason, &origin, token, nullptr,
                          &output};
  e.refused_output = true;
  if (metrics::StepMetrics* counts = metrics_.find(owner->step->name)) {
    counts->errors[metrics::error_kind_index(pipeline::kErrSinkRejected)].add();
  }
  if (!errors_->on_record_error(e)) {
    fail("stopped at " + pipeline::origin_text(origin) + ": an output was refused: " + reason);
    return;
  }
  t->release(slot);
}

void Runtime::on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
    assign(parts);
  else
    revoke(parts);
}

void Runtime::assign(rd_kafka_topic_partition_list_t* parts) {
  assigned_once_ = true;
  for (int i = 0; i < parts->cnt; ++i) {
    const int32_t p = parts->elems[i].partition;
    if (topic_ != parts->elems[i].topic || p < 0) continue;
    auto state = std::make_unique<PartitionState>();
    state->partition = p;
    state->tracker_id = static_cast<uint32_t>(trackers_.size());
    tracker_partitions_.push_back(p);
    trackers_.push_back(
        std::make_unique<OffsetTracker>(g_->source_deployment().max_in_flight_messages));
    std::string error;
    state->chain = pipeline::Chain::create(g_, sink_ptrs_, *errors_, &error, this, &metrics_);
    if (!state->chain) {
      fail("partition " + std::to_string(p) + ": " + error);
      continue;
    }
    quarantine(*state);
    if (static_cast<size_t>(p) >= partitions_.size()) partitions_.resize(p + 1);
    partitions_[p] = std::move(state);
  }
  log::info("assigned " + partition_names(parts));
  if (cooperative()) {
    rd_kafka_error_t* e = rd_kafka_incremental_assign(consumer_, parts);
    if (e) rd_kafka_error_destroy(e);
  } else {
    rd_kafka_assign(consumer_, parts);
  }
}

void Runtime::quarantine(PartitionState& p) {
  if (!options_.crash_journal) return;
  p.quarantine =
      options_.crash_journal->quarantined(topic_, p.partition, g_->source_deployment().crash_limit);
  for (pipeline::Quarantine& q : p.quarantine) {
    const std::string input =
        topic_ + "[" + std::to_string(p.partition) + "]@" + std::to_string(q.offset);
    if (!dlq_ && options_.error_policy == config::ErrorPolicy::fail) {
      q.message +=
          "; to go past it, set the source's error_policy to skip-and-count, give it a "
          "dlq, or commit offset " +
          std::to_string(q.offset + 1) + " of " + topic_ + "[" + std::to_string(p.partition) +
          "] for group " + g_->consumer_group();
    }
    log::warn("quarantine: " + input + " is not run through " +
              (q.step.empty() ? std::string("the pipeline") : "step '" + q.step + "'") + ": " +
              q.message);
  }
}

void Runtime::revoke(rd_kafka_topic_partition_list_t* parts) {
  const bool lost = rd_kafka_assignment_lost(consumer_);
  if (!lost) {
    const auto timeout = std::chrono::milliseconds(g_->source_deployment().drain_timeout_ms);
    if (!drain(Clock::now() + timeout)) log::warn("revoke: outputs still in flight after drain");
    commit(/*sync=*/true, parts);
  }
  for (int i = 0; i < parts->cnt; ++i) {
    PartitionState* p = partition(parts->elems[i].partition);
    if (!p || topic_ != parts->elems[i].topic) continue;
    if (p->paused) {  // librdkafka keeps a partition paused across assignments
      rd_kafka_topic_partition_list_t* one = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(one, topic_.c_str(), p->partition);
      rd_kafka_resume_partitions(consumer_, one);
      rd_kafka_topic_partition_list_destroy(one);
      --paused_;
    }
    auto& t = trackers_[p->tracker_id];
    if (t->in_flight() == 0) t.reset();  // else late reports still find it
    partitions_[p->partition].reset();
  }
  log::info(std::string(lost ? "lost " : "revoked ") + partition_names(parts) +
            (lost ? " (nothing committed for them)" : ""));
  if (cooperative()) {
    rd_kafka_error_t* e = rd_kafka_incremental_unassign(consumer_, parts);
    if (e) rd_kafka_error_destroy(e);
  } else {
    rd_kafka_assign(consumer_, nullptr);
  }
}

// Waits until every output written so far is acknowledged. Inputs held by
// open batches and windows, and one a failed step stopped at, stay
// uncommitted: they are read again by the partition's next run.
bool Runtime::drain(Clock::time_point deadline) {
  for (;;) {
    bool idle = true;
    for (const KafkaSink* sink : kafka_sinks_) idle = idle && sink->pending() == 0;
    if (idle) return true;
    if (Clock::now() >= deadline) return false;
    poll_sinks(10);
  }
}

// One asynchronous commit at a time: librdkafka retries a failed commit
// request by itself, and a retried older commit that lands after a newer one
// moves the group's offset back (seen on the dev broker with injected commit
// errors: the last commit was silently undone). The next commit waits for the
// result of the one before, up to kCommitConfirmMs.
void Runtime::commit(bool sync, const rd_kafka_topic_partition_list_t* only) {
  if (!flush_sinks()) return;
  m_.commit_checked_ms.set(static_cast<uint64_t>(wall_ms()));
  const int64_t now = steady_ms();
  if (!sync && commit_pending_ && now - commit_sent_ms_ < kCommitConfirmMs) return;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size()));
  for (auto& p : partitions_) {
    if (!p) continue;
    if (only && !rd_kafka_topic_partition_list_find(only, topic_.c_str(), p->partition)) continue;
    const int64_t next = trackers_[p->tracker_id]->committable();
    const bool unconfirmed = p->committed > p->confirmed && now - p->sent_ms > kCommitConfirmMs;
    if (next <= p->committed && !unconfirmed) continue;
    rd_kafka_topic_partition_list_add(list, topic_.c_str(), p->partition)->offset = next;
    p->committed = next;
    p->sent_ms = now;
  }
  if (list->cnt > 0) {
    rd_kafka_resp_err_t err = rd_kafka_commit(consumer_, list, sync ? 0 : 1);
    commit_pending_ = !sync && !err;
    commit_sent_ms_ = now;
    if (err) {
      log::warn(std::string("commit failed, will retry: ") + rd_kafka_err2str(err));
      for (int i = 0; i < list->cnt; ++i) {
        if (PartitionState* p = partition(list->elems[i].partition)) p->committed = -1;
      }
    } else {
      m_.commits.add();
      m_.last_commit_ms.set(static_cast<uint64_t>(wall_ms()));
      if (log::enabled(log::Level::debug)) log::debug("commit " + partition_names(list));
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
}

// A failed commit, of the request or of single partitions (a broker may
// refuse some partitions of a request that succeeds), is sent again by the
// next commit cycle; a successful one confirms its offsets.
void Runtime::on_commit_result(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets) {
  commit_pending_ = false;
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
  for (int i = 0; offsets && i < offsets->cnt; ++i) {
    const rd_kafka_resp_err_t e = err ? err : offsets->elems[i].err;
    PartitionState* p = partition(offsets->elems[i].partition);
    if (!e) {
      if (p) p->confirmed = std::max(p->confirmed, offsets->elems[i].offset);
      continue;
    }
    if (p && p->committed == offsets->elems[i].offset) p->committed = -1;
    uint64_t suppressed = 0;
    if (client_log_.allow(Clock::now(), &suppressed)) {
      log::warn("committing " + topic_ + "[" + std::to_string(offsets->elems[i].partition) +
                "] failed, will retry: " + rd_kafka_err2str(e) +
                log::RateLimitedLog::note(suppressed));
    }
  }
}

void Runtime::on_error(int err, const char* reason) {
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    fail(std::string("fatal Kafka client error: ") + reason);
    return;
  }
  uint64_t suppressed = 0;
  if (client_log_.allow(Clock::now(), &suppressed)) {
    log::warn(std::string("kafka: ") + reason + log::RateLimitedLog::note(suppressed));
  }
}

void Runtime::fail(const std::string& reason) {
  if (!fatal_) log::error(reason);
  fatal_ = true;
}

// Leaves the group (the revoke callback drains and commits what is left)
// without blocking past `deadline`, even when the brokers are gone.
void Runtime::close_consumer(Clock::time_point deadline) {
  rd_kafka_queue_t* queue = rd_kafka_queue_new(consumer_);
  if (rd_kafka_error_t* e = rd_kafka_consumer_close_queue(consumer_, queue)) {
    log::warn(std::string("consumer close: ") + rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  }
  // Served as the consumer is (callbacks called, messages returned): the
  // consumer's queue, forwarded here, may still hold fetched messages, which
  // a callback-only serve asserts on in librdkafka. They were not processed
  // and stay uncommitted: the partitions' next owner reads them.
  while (!rd_kafka_consumer_closed(consumer_) && Clock::now() < deadline) {
    if (rd_kafka_message_t* unread = rd_kafka_consume_queue(queue, 100)) {
      rd_kafka_message_destroy(unread);
    }
  }
  closed_ = rd_kafka_consumer_closed(consumer_);
  if (!closed_) log::warn("the consumer did not leave its group within drain_timeout_ms");
  rd_kafka_queue_destroy(queue);
}

void Runtime::refuse_swaps() {
  std::lock_guard<std::mutex> lock(swap_mutex_);
  running_ = false;
  if (swap_pending_.exchange(false)) {
    pipeline::SwapOutcome refused;
    refused.error = "the host is stopping";
    swapped_.set_value(std::move(refused));
  }
}

int Runtime::shutdown() {
  refuse_swaps();
  const auto timeout = std::chrono::milliseconds(g_->source_deployment().drain_timeout_ms);
  const bool drained = drain(Clock::now() + timeout);
  commit(/*sync=*/true, nullptr);
  close_consumer(Clock::now() + timeout);
  partitions_.clear();
  const std::string failed =
      dlq_ ? ", sent to the dead-letter queue " + std::to_string(dead_letters_->sent())
           : ", skipped " + std::to_string(no_dlq_->skipped());
  log::info("stopped: consumed " + std::to_string(m_.consumed.value()) + failed + ", produced " +
            std::to_string(m_.produced.value()) + ", delivered " +
            std::to_string(m_.delivered.value()) + ", paused by backpressure " +
            std::to_string(m_.pauses.value()) + " time(s)");
  if (!drained && !fatal_) {
    log::error(
        "outputs still unacknowledged after drain_timeout_ms; their inputs stay "
        "uncommitted and will be processed again");
  }
  return fatal_ || !drained ? 1 : 0;
}

}  // namespace

std::unique_ptr<KafkaRuntime> create_kafka_runtime(std::shared_ptr<const pipeline::Generation> g,
                                                   const RuntimeOptions& options,
                                                   std::string* error) {
  auto runtime = std::make_unique<Runtime>(std::move(g), options);
  if (!runtime->init(error)) return nullptr;
  return runtime;
}

}  // namespace streams::kafka
