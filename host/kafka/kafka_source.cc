#include "kafka/kafka_source.h"

#include <chrono>
#include <cstring>
#include <vector>

#include "common/clock.h"
#include "common/log.h"
#include "kafka/handles.h"
#include "kafka/kafka_conf.h"
#include "kafka/partition_names.h"

namespace streams::kafka {
namespace {

constexpr int kBatch = 1024;

// A commit's error as the runtime reads it (null: none).
const char* commit_error(rd_kafka_resp_err_t err) {
  if (!err) return nullptr;
  return err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ? pipeline::kCommitRefusedRebalancing
                                                        : rd_kafka_err2str(err);
}

class KafkaSource final : public pipeline::Source {
 public:
  // `strict`: strict_offset_reset, with `policy` its auto_offset_reset
  // (config/deployment_config.h).
  KafkaSource(std::string topic, config::OffsetReset policy, bool strict,
              metrics::PipelineMetrics& metrics)
      : topic_(std::move(topic)), policy_(policy), strict_(strict), metrics_(metrics) {}
  ~KafkaSource() override;
  bool init(rd_kafka_conf_t* conf, std::string* error);

  bool subscribe(pipeline::SourceHandler& handler, std::string* error) override;
  void poll(int timeout_ms) override;
  void pause(int32_t partition) override;
  void resume(int32_t partition, int64_t offset) override;
  bool committed(int32_t partition, int64_t* offset, int timeout_ms, std::string* error) override;
  bool commit(const pipeline::PartitionOffset* offsets, size_t count, bool sync,
              std::string* error) override;
  bool close(int64_t timeout_ms) override;
  void wake() override { rd_kafka_queue_yield(queue_.get()); }
  const std::string& topic() const override { return topic_; }

  // librdkafka's callbacks, on the thread in poll(), commit() or close().
  void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  void on_commit_result(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets);
  void on_error(int err, const char* reason);
  void on_stats(const char* json, size_t size) {
    metrics_.set_client_stats("consumer", json, size);
  }

 private:
  void deliver(const rd_kafka_message_t* msg);
  // deliver() of batch_[0, n) with the handler's hints (SourceHandler).
  void deliver_hinted(ssize_t n);
  uint64_t hint_soon(const rd_kafka_message_t* msg);
  void assign(rd_kafka_topic_partition_list_t* parts);
  // Strict offset reset: sets the policy's start for the partitions of
  // `parts` the group has no committed offset for, and their committed
  // offsets for the others; the source fails when they cannot be read.
  void start_uncommitted(rd_kafka_topic_partition_list_t* parts);
  void revoke(rd_kafka_topic_partition_list_t* parts);
  // The partitions of our topic in `parts`.
  const std::vector<int32_t>& ours(const rd_kafka_topic_partition_list_t* parts);
  bool cooperative() const {
    return std::strcmp(rd_kafka_rebalance_protocol(consumer_.get()), "COOPERATIVE") == 0;
  }
  void warn(const std::string& line);

  std::string topic_;
  const config::OffsetReset policy_;
  const bool strict_;
  metrics::PipelineMetrics& metrics_;
  Client consumer_;
  Queue queue_;
  pipeline::SourceHandler* handler_ = nullptr;
  bool closed_ = false;  // the consumer has left its group
  rd_kafka_message_t* batch_[kBatch];
  std::vector<streams_header> headers_;  // the current record's, reused
  std::vector<int32_t> numbers_;         // reused by ours()
  std::vector<pipeline::PartitionOffset> results_;
  log::RateLimitedLog log_{5};
};

KafkaSource* from_opaque(void* opaque) { return static_cast<KafkaSource*>(opaque); }

void rebalance_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                  void* opaque) {
  from_opaque(opaque)->on_rebalance(err, parts);
}

void commit_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
               void* opaque) {
  from_opaque(opaque)->on_commit_result(err, offsets);
}

void error_cb(rd_kafka_t*, int err, const char* reason, void* opaque) {
  from_opaque(opaque)->on_error(err, reason);
}

int stats_cb(rd_kafka_t*, char* json, size_t size, void* opaque) {
  from_opaque(opaque)->on_stats(json, size);
  return 0;  // librdkafka frees the JSON
}

KafkaSource::~KafkaSource() {
  queue_.reset();
  if (consumer_ && !closed_) {
    rd_kafka_destroy_flags(consumer_.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }
}

bool KafkaSource::init(rd_kafka_conf_t* conf, std::string* error) {
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_rebalance_cb(conf, &rebalance_cb);
  rd_kafka_conf_set_offset_commit_cb(conf, &commit_cb);
  rd_kafka_conf_set_error_cb(conf, &error_cb);
  rd_kafka_conf_set_stats_cb(conf, &stats_cb);
  char reason[512];
  consumer_.reset(rd_kafka_new(RD_KAFKA_CONSUMER, conf, reason, sizeof reason));
  if (!consumer_) {
    rd_kafka_conf_destroy(conf);
    *error = std::string("cannot create consumer: ") + reason;
    return false;
  }
  rd_kafka_poll_set_consumer(consumer_.get());
  queue_.reset(rd_kafka_queue_get_consumer(consumer_.get()));
  return true;
}

bool KafkaSource::subscribe(pipeline::SourceHandler& handler, std::string* error) {
  handler_ = &handler;
  PartitionList topics = partition_list(1);
  rd_kafka_topic_partition_list_add(topics.get(), topic_.c_str(), RD_KAFKA_PARTITION_UA);
  if (rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer_.get(), topics.get())) {
    *error = "cannot subscribe to " + topic_ + ": " + rd_kafka_err2str(err);
    return false;
  }
  return true;
}

void KafkaSource::poll(int timeout_ms) {
  Message first(rd_kafka_consumer_poll(consumer_.get(), timeout_ms));
  if (!first) return;
  deliver(first.get());
  first.reset();
  const ssize_t n = rd_kafka_consume_batch_queue(queue_.get(), 0, batch_, kBatch);
  if (n > 1 && handler_->wants_hints()) return deliver_hinted(n);
  for (ssize_t i = 0; i < n; ++i) {
    deliver(batch_[i]);
    rd_kafka_message_destroy(batch_[i]);
  }
}

uint64_t KafkaSource::hint_soon(const rd_kafka_message_t* msg) {
  if (msg->err) return 0;
  return handler_->hint_soon(msg->partition,
                             {static_cast<const char*>(msg->key), msg->key ? msg->key_len : 0});
}

void KafkaSource::deliver_hinted(ssize_t n) {
  uint64_t ahead[2];  // ahead[j & 1]: hint_soon of batch_[j]
  ahead[0] = hint_soon(batch_[0]);
  ahead[1] = hint_soon(batch_[1]);
  for (ssize_t i = 0; i < n; ++i) {
    if (i + 1 < n && !batch_[i + 1]->err) {
      handler_->hint_next(batch_[i + 1]->partition, ahead[(i + 1) & 1]);
    }
    if (i + 2 < n) ahead[i & 1] = hint_soon(batch_[i + 2]);
    deliver(batch_[i]);
    rd_kafka_message_destroy(batch_[i]);
  }
}

void KafkaSource::deliver(const rd_kafka_message_t* msg) {
  if (msg->err) {
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    const std::string what = rd_kafka_message_errstr(msg);
    if (msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
      if (strict_ && msg->offset >= 0) {
        handler_->on_source_failed(
            "partition " + std::to_string(msg->partition) + ": the committed offset " +
            std::to_string(msg->offset) +
            " is not on the broker (retention or a recreated topic removed it) and "
            "strict_offset_reset is set: stopping rather than skip to another offset. Move "
            "the group's offset, or set strict_offset_reset: false to let auto_offset_reset "
            "choose (" +
            what + ")");
      } else {
        handler_->on_source_failed(
            "no valid offset to start from and auto_offset_reset is 'error': " + what);
      }
      return;
    }
    if (msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        msg->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
      handler_->on_topic_unavailable(msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                                         ? pipeline::SourceHandler::Unavailable::missing
                                         : pipeline::SourceHandler::Unavailable::not_authorized);
    }
    return warn("consumer: " + what);
  }
  pipeline::SourceRecord in;
  in.partition = msg->partition;
  in.offset = msg->offset;
  in.record.struct_size = sizeof(in.record);
  in.record.key = {static_cast<const uint8_t*>(msg->key), msg->key_len};
  in.record.value = {static_cast<const uint8_t*>(msg->payload), msg->len};
  in.record.timestamp_ms = rd_kafka_message_timestamp(msg, nullptr);
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
    in.record.headers = headers_.data();
    in.record.header_count = headers_.size();
  } else if (header_err != RD_KAFKA_RESP_ERR__NOENT) {
    in.header_error = rd_kafka_err2str(header_err);
  }
  handler_->on_record(in);
}

void KafkaSource::pause(int32_t partition) {
  PartitionList list = partition_list(1);
  rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), partition);
  rd_kafka_pause_partitions(consumer_.get(), list.get());
}

// Seeks first: a pause dropped what was prefetched.
void KafkaSource::resume(int32_t partition, int64_t offset) {
  PartitionList list = partition_list(1);
  rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), partition)->offset = offset;
  if (offset < 0) {
    // Nothing read yet: from where the assignment starts (committed or reset).
  } else if (Error e{rd_kafka_seek_partitions(consumer_.get(), list.get(), 0)}) {
    log::warn(std::string("backpressure: seek before resume: ") + rd_kafka_error_string(e.get()));
  }
  rd_kafka_resume_partitions(consumer_.get(), list.get());
}

bool KafkaSource::commit(const pipeline::PartitionOffset* offsets, size_t count, bool sync,
                         std::string* error) {
  PartitionList list = partition_list(static_cast<int>(count));
  for (size_t i = 0; i < count; ++i) {
    rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), offsets[i].partition)->offset =
        offsets[i].offset;
  }
  if (rd_kafka_resp_err_t err = rd_kafka_commit(consumer_.get(), list.get(), sync ? 0 : 1)) {
    *error = commit_error(err);
    return false;
  }
  // A synchronous commit succeeds only if every partition's did: the
  // caller checkpoints state at the offsets it sent.
  for (int i = 0; sync && i < list->cnt; ++i) {
    if (rd_kafka_resp_err_t err = list->elems[i].err) {
      *error =
          "partition " + std::to_string(list->elems[i].partition) + ": " + rd_kafka_err2str(err);
      return false;
    }
  }
  if (log::enabled(log::Level::debug)) log::debug("commit " + partition_names(list.get()));
  return true;
}

bool KafkaSource::committed(int32_t partition, int64_t* offset, int timeout_ms,
                            std::string* error) {
  PartitionList list = partition_list(1);
  rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), partition);
  rd_kafka_resp_err_t err = rd_kafka_committed(consumer_.get(), list.get(), timeout_ms);
  if (!err) err = list->elems[0].err;
  if (err) {
    *error = rd_kafka_err2str(err);
    return false;
  }
  *offset = list->elems[0].offset >= 0 ? list->elems[0].offset : -1;
  return true;
}

void KafkaSource::on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    assign(parts);
  } else {
    revoke(parts);
  }
}

const std::vector<int32_t>& KafkaSource::ours(const rd_kafka_topic_partition_list_t* parts) {
  numbers_.clear();
  for (int i = 0; i < parts->cnt; ++i) {
    if (topic_ == parts->elems[i].topic && parts->elems[i].partition >= 0) {
      numbers_.push_back(parts->elems[i].partition);
    }
  }
  return numbers_;
}

void KafkaSource::start_uncommitted(rd_kafka_topic_partition_list_t* parts) {
  constexpr int kTimeoutMs = 10000;
  if (rd_kafka_resp_err_t err = rd_kafka_committed(consumer_.get(), parts, kTimeoutMs)) {
    handler_->on_source_failed("strict_offset_reset: reading the committed offsets of " +
                               partition_names(parts) + " failed: " + rd_kafka_err2str(err));
    return;
  }
  for (int i = 0; i < parts->cnt; ++i) {
    rd_kafka_topic_partition_t& tp = parts->elems[i];
    if (tp.err) {
      handler_->on_source_failed("strict_offset_reset: reading the committed offset of " +
                                 std::string(tp.topic) + "[" + std::to_string(tp.partition) +
                                 "] failed: " + rd_kafka_err2str(tp.err));
      return;
    }
    if (tp.offset >= 0) continue;
    if (policy_ == config::OffsetReset::earliest) tp.offset = RD_KAFKA_OFFSET_BEGINNING;
    if (policy_ == config::OffsetReset::latest) tp.offset = RD_KAFKA_OFFSET_END;
  }
}

void KafkaSource::assign(rd_kafka_topic_partition_list_t* parts) {
  const std::vector<int32_t>& numbers = ours(parts);
  handler_->on_assigned(numbers.data(), numbers.size());
  // A failure stops the source (on_source_failed); the partitions are
  // assigned as they were meanwhile.
  if (strict_ && policy_ != config::OffsetReset::error) start_uncommitted(parts);
  log::info("assigned " + partition_names(parts));
  if (cooperative()) {
    Error e{rd_kafka_incremental_assign(consumer_.get(), parts)};
  } else {
    rd_kafka_assign(consumer_.get(), parts);
  }
}

void KafkaSource::revoke(rd_kafka_topic_partition_list_t* parts) {
  const bool lost = rd_kafka_assignment_lost(consumer_.get());
  const std::vector<int32_t> numbers = ours(parts);  // a copy: the handler may commit
  handler_->on_revoked(numbers.data(), numbers.size(), lost);
  // librdkafka keeps a partition paused across assignments.
  rd_kafka_resume_partitions(consumer_.get(), parts);
  log::info(std::string(lost ? "lost " : "revoked ") + partition_names(parts) +
            (lost ? " (nothing committed for them)" : ""));
  if (cooperative()) {
    Error e{rd_kafka_incremental_unassign(consumer_.get(), parts)};
  } else {
    rd_kafka_assign(consumer_.get(), nullptr);
  }
}

// A failed commit, of the request or of single partitions (a broker may
// refuse some partitions of a request that succeeds), is reported per
// partition; "nothing to commit" is reported as no partitions.
void KafkaSource::on_commit_result(rd_kafka_resp_err_t err,
                                   rd_kafka_topic_partition_list_t* offsets) {
  results_.clear();
  if (err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    for (int i = 0; offsets && i < offsets->cnt; ++i) {
      const rd_kafka_resp_err_t e = err ? err : offsets->elems[i].err;
      results_.push_back({offsets->elems[i].partition, offsets->elems[i].offset, commit_error(e)});
    }
  }
  handler_->on_commit_result(results_.data(), results_.size());
}

void KafkaSource::on_error(int err, const char* reason) {
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    handler_->on_source_failed(std::string("fatal Kafka client error: ") + reason);
    return;
  }
  warn(std::string("kafka (source): ") + reason);
}

void KafkaSource::warn(const std::string& line) {
  uint64_t suppressed = 0;
  if (log_.allow(std::chrono::steady_clock::now(), &suppressed)) {
    log::warn(line + log::RateLimitedLog::note(suppressed));
  }
}

// Served as the consumer is (callbacks called, messages returned): the
// consumer's queue, forwarded here, may still hold fetched messages, which a
// callback-only serve asserts on in librdkafka. They were not processed and
// stay uncommitted: the partitions' next owner reads them.
bool KafkaSource::close(int64_t timeout_ms) {
  const int64_t deadline = steady_ms() + timeout_ms;
  Queue queue(rd_kafka_queue_new(consumer_.get()));
  if (Error e{rd_kafka_consumer_close_queue(consumer_.get(), queue.get())}) {
    log::warn(std::string("consumer close: ") + rd_kafka_error_string(e.get()));
  }
  while (!rd_kafka_consumer_closed(consumer_.get()) && steady_ms() < deadline) {
    Message unread(rd_kafka_consume_queue(queue.get(), 100));
  }
  closed_ = rd_kafka_consumer_closed(consumer_.get());
  return closed_;
}

}  // namespace

// A producer handle asks, with the consumer's settings (its brokers and
// credentials; the consumer-only ones are ignored, and a producer joins no
// group).
std::string source_cluster_id(const pipeline::Generation& g, const std::string& client_id,
                              int timeout_ms) {
  std::string error;
  rd_kafka_conf_t* conf = consumer_conf(g, client_id + "-probe", &error);
  if (!conf) return {};
  char reason[512];
  Client probe(rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason));
  if (!probe) {
    rd_kafka_conf_destroy(conf);
    return {};
  }
  char* id = rd_kafka_clusterid(probe.get(), timeout_ms);
  std::string out = id ? id : "";
  if (id) rd_kafka_mem_free(probe.get(), id);
  return out;
}

int source_fetch_wait(const pipeline::Generation& g, const std::string& client_id, int timeout_ms) {
  if (overrides_fetch_wait(g)) return kDevBrokerFetchWaitMs;  // override_params set it
  const std::string id = source_cluster_id(g, client_id, timeout_ms);
  const int wait = fetch_wait_ms(id);
  const std::string set = "fetch.wait.max.ms " + std::to_string(wait);
  if (id.empty()) {
    log::info("the source cluster did not say its id within " + std::to_string(timeout_ms) +
              " ms (not reachable yet, or refusing this client: see the kafka lines): " + set +
              " (set it in override_params)");
  } else if (wait == kKafkaFetchWaitMs) {
    log::info("source cluster " + id + ": " + set + " (Kafka answers a fetch when data arrives)");
  } else {
    log::info("source cluster " + id + " is the dev broker: " + set +
              " (it holds every fetch that long)");
  }
  return wait;
}

std::unique_ptr<pipeline::Source> create_kafka_source(const pipeline::Generation& g,
                                                      const std::string& client_id,
                                                      metrics::PipelineMetrics& metrics,
                                                      std::string* error, int fetch_wait) {
  rd_kafka_conf_t* conf = consumer_conf(g, client_id, error, fetch_wait);
  if (!conf) return nullptr;
  const config::StepDeployment& d = g.source_deployment();
  auto source = std::make_unique<KafkaSource>(g.source_topic(), d.auto_offset_reset,
                                              d.strict_offset_reset, metrics);
  if (!source->init(conf, error)) return nullptr;
  return source;
}

}  // namespace streams::kafka
