#include "kafka/changelog.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>

#include "common/clock.h"
#include "kafka/handles.h"
#include "kafka/kafka_conf.h"
#include "kafka/topic_check.h"

namespace streams::kafka {
namespace {

constexpr int kMetadataMs = 30000;
constexpr int kCreateMs = 10000;  // a cluster that cannot create topics says so late
constexpr int kReadBatch = 4096;
constexpr int64_t kReadStallMs = 60000;  // a read with no progress this long fails

void put_stamp(int64_t stamp, unsigned char out[8]) {
  for (int i = 7; i >= 0; --i, stamp = static_cast<int64_t>(static_cast<uint64_t>(stamp) >> 8)) {
    out[i] = static_cast<unsigned char>(stamp & 0xff);
  }
}

int64_t read_stamp(const void* bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<const unsigned char*>(bytes)[i];
  return static_cast<int64_t>(v);
}

// The record `m` read back (state/changelog.h has the format): a stamped
// value, or a stamp header (an erase; a value of a build before stamped
// values).
state::ChangelogRecord decode(const rd_kafka_message_t* m) {
  state::ChangelogRecord r;
  r.offset = m->offset;
  r.key = {static_cast<const char*>(m->key), m->key_len};
  r.present = m->payload != nullptr;
  r.stored = {static_cast<const char*>(m->payload), m->len};
  rd_kafka_headers_t* headers = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      rd_kafka_header_get_last(headers, state::kStampHeader, &value, &size) ==
          RD_KAFKA_RESP_ERR_NO_ERROR &&
      size == 8) {
    r.stamp = read_stamp(value);
  } else if (r.present && r.stored.size() >= 8) {
    r.stamp = read_stamp(r.stored.data());
    r.stored.remove_prefix(8);
  }
  return r;
}

Client make_client(rd_kafka_type_t type, rd_kafka_conf_t* conf, std::string* error) {
  char reason[512];
  Client c(rd_kafka_new(type, conf, reason, sizeof reason));
  if (!c) {
    rd_kafka_conf_destroy(conf);
    *error = std::string("changelog client: ") + reason;
  }
  return c;
}

// Queues changes in an arena and hands them to the producer a window at a
// time (rd_kafka_produce_batch for each run of values of one partition: one
// clock read and one topic lock a run, where producev takes two and one a
// record). A checkpoint queues every key its commit interval changed at
// once; with at most kWindow of them in the producer, the memory of the
// messages delivered is reused, warm, by the next ones, where a whole burst
// in flight took tens of megabytes the allocator carved out afresh at every
// commit (measured: README "Platform state").
class Writer final : public state::ChangelogWriter {
 public:
  explicit Writer(ChangelogTopics topics) : topics_(std::move(topics)) {}
  ~Writer() override {
    if (!producer_) return;
    // What is still queued is dropped: its acknowledgements (failures)
    // release what they hold.
    for (size_t i = head_; i < queue_.size(); ++i) {
      queue_[i].ack->acknowledged(queue_[i].step, -1, "the changelog writer was closed");
    }
    rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(producer_.get(), 1000);
    handles_.clear();
  }

  bool init(rd_kafka_conf_t* conf, std::string* error) {
    rd_kafka_conf_set_dr_msg_cb(conf, &Writer::on_delivery);
    rd_kafka_conf_set_opaque(conf, this);
    producer_ = make_client(RD_KAFKA_PRODUCER, conf, error);
    if (!producer_) return false;
    for (size_t i = 0; i < topics_.topics.size(); ++i) {
      rd_kafka_topic_conf_t* tc = rd_kafka_topic_conf_new();
      rd_kafka_topic_conf_set_opaque(tc, reinterpret_cast<void*>(static_cast<intptr_t>(i)));
      handles_.emplace_back(rd_kafka_topic_new(producer_.get(), topics_.topics[i].c_str(), tc));
      if (!handles_.back()) {
        *error =
            "changelog topic " + topics_.topics[i] + ": " + rd_kafka_err2str(rd_kafka_last_error());
        return false;
      }
    }
    return true;
  }

  bool send(size_t step, int32_t partition, std::string_view key, const std::string* stored,
            int64_t stamp, state::ChangelogAck* ack, std::string* error) override {
    if (step >= handles_.size()) {
      *error = "no changelog for step index " + std::to_string(step);
      return false;
    }
    // A value carries its stamp in front (one allocation in librdkafka, where
    // a header list costs two more); an erase, a null value for compaction,
    // in a header.
    Queued q{step, partition, stored != nullptr, arena_.size(), key.size(), 0, ack};
    arena_.append(key);
    unsigned char encoded[8];
    put_stamp(stamp, encoded);
    arena_.append(reinterpret_cast<const char*>(encoded), sizeof encoded);
    if (stored) {
      arena_.append(*stored);
      q.value_size = sizeof encoded + stored->size();
    }
    queue_.push_back(q);
    ack->sent();
    return true;
  }

  void poll() override {
    rd_kafka_poll(producer_.get(), 0);
    pump();
  }
  size_t queued() const override { return queue_.size() - head_; }
  bool flush(int timeout_ms) override {
    const int64_t deadline = steady_ms() + timeout_ms;
    for (;;) {
      pump();
      const int64_t left = deadline - steady_ms();
      if (queued() == 0) {
        return rd_kafka_flush(producer_.get(), static_cast<int>(std::max<int64_t>(left, 0))) ==
               RD_KAFKA_RESP_ERR_NO_ERROR;
      }
      if (left <= 0) return false;
      rd_kafka_poll(producer_.get(), static_cast<int>(std::min<int64_t>(left, 10)));
    }
  }
  int index_of(const std::string& name) const override { return topics_.index_of(name); }

 private:
  // Records in the producer at most; pump() refills the window when no more
  // than kRefill are left in it, so that requests stay large (a refill at
  // every acknowledgement made the producer's broker thread send many small
  // ones: measured, more CPU than the burst it replaced).
  static constexpr size_t kWindow = 16384;
  static constexpr size_t kRefill = 4096;

  struct Queued {
    size_t step;
    int32_t partition;
    bool present;
    size_t at;  // in arena_: the key, then the stamp and the stored value
    size_t key_size;
    size_t value_size;  // 0 for an erase: its stamp goes in a header
    state::ChangelogAck* ack;
  };

  // Hands queued records to the producer while the window has room.
  void pump() {
    if (in_flight_ > kRefill) return;
    while (head_ < queue_.size() && in_flight_ < kWindow) {
      const size_t n = queue_[head_].present ? produce_values() : produce_erase();
      if (n == 0) return;  // the producer's queue is full: the next poll() goes on
    }
    if (head_ == queue_.size()) {
      queue_.clear();
      arena_.clear();
      head_ = 0;
    }
  }

  // The run of values of one step and partition at head_, up to the window;
  // how many left the queue.
  size_t produce_values() {
    const Queued& first = queue_[head_];
    batch_.clear();
    for (size_t i = head_; i < queue_.size() && in_flight_ + batch_.size() < kWindow; ++i) {
      const Queued& q = queue_[i];
      if (!q.present || q.step != first.step || q.partition != first.partition) break;
      rd_kafka_message_t m{};
      m.key = arena_.data() + q.at;
      m.key_len = q.key_size;
      m.payload = arena_.data() + q.at + q.key_size;
      m.len = q.value_size;
      m._private = q.ack;
      batch_.push_back(m);
    }
    rd_kafka_produce_batch(handles_[first.step].get(), first.partition, RD_KAFKA_MSG_F_COPY,
                           batch_.data(), static_cast<int>(batch_.size()));
    size_t taken = 0;
    for (const rd_kafka_message_t& m : batch_) {
      if (m.err == RD_KAFKA_RESP_ERR__QUEUE_FULL) break;  // so are all after it
      const Queued& q = queue_[head_ + taken++];
      if (m.err) {
        q.ack->acknowledged(q.step, -1, refusal(q, m.err));
      } else {
        ++in_flight_;
      }
    }
    head_ += taken;
    return taken;
  }

  size_t produce_erase() {
    const Queued& q = queue_[head_];
    const char* key = arena_.data() + q.at;
    rd_kafka_headers_t* headers = rd_kafka_headers_new(1);
    rd_kafka_header_add(headers, state::kStampHeader, -1, key + q.key_size, 8);
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_.get(), RD_KAFKA_V_RKT(handles_[q.step].get()), RD_KAFKA_V_PARTITION(q.partition),
        RD_KAFKA_V_KEY(key, q.key_size), RD_KAFKA_V_VALUE(nullptr, 0), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_OPAQUE(q.ack), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++in_flight_;
    } else {
      rd_kafka_headers_destroy(headers);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) return 0;
      q.ack->acknowledged(q.step, -1, refusal(q, err));
    }
    ++head_;
    return 1;
  }

  const char* refusal(const Queued& q, rd_kafka_resp_err_t err) {
    refusal_ = "changelog " + topics_.topics[q.step] + "[" + std::to_string(q.partition) +
               "]: " + rd_kafka_err2str(err);
    return refusal_.c_str();
  }

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    --static_cast<Writer*>(opaque)->in_flight_;
    auto* ack = static_cast<state::ChangelogAck*>(m->_private);
    const auto step =
        static_cast<size_t>(reinterpret_cast<intptr_t>(rd_kafka_topic_opaque(m->rkt)));
    ack->acknowledged(step, m->offset, m->err ? rd_kafka_err2str(m->err) : nullptr);
  }

  ChangelogTopics topics_;
  Client producer_;
  std::vector<Topic> handles_;
  std::string arena_;          // the queued records' bytes
  std::vector<Queued> queue_;  // [head_, end) not yet handed to the producer
  size_t head_ = 0;
  size_t in_flight_ = 0;                   // handed to the producer, not yet delivered
  std::vector<rd_kafka_message_t> batch_;  // produce_values(), reused
  std::string refusal_;
};

class Reader final : public state::ChangelogReader {
 public:
  explicit Reader(ChangelogTopics topics) : topics_(std::move(topics)) {}

  bool init(rd_kafka_conf_t* conf, std::string* error) {
    consumer_ = make_client(RD_KAFKA_CONSUMER, conf, error);
    return consumer_ != nullptr;
  }
  ~Reader() override { handles_.clear(); }

  bool bounds(size_t step, int32_t partition, int64_t* low, int64_t* high,
              std::string* error) override {
    const auto kept = kept_.find({step, partition});
    if (kept != kept_.end()) {
      *low = kept->second.first, *high = kept->second.second;
      kept_.erase(kept);
      return true;
    }
    const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        consumer_.get(), topics_.topics.at(step).c_str(), partition, low, high, kMetadataMs);
    if (err) *error = where(step, partition) + ": " + rd_kafka_err2str(err);
    return !err;
  }

  // Two ListOffsets requests a broker for every partition of every step
  // (earliest, latest), where a query per partition pays a round trip each:
  // on the dev broker the first after a read's consume_stop took ~45 ms.
  bool prefetch_bounds(const std::vector<int32_t>& partitions, std::string* error) override {
    kept_.clear();
    if (partitions.empty()) return true;
    const int size = static_cast<int>(topics_.topics.size() * partitions.size());
    PartitionList low = partition_list(size), high = partition_list(size);
    for (const std::string& topic : topics_.topics) {
      for (int32_t p : partitions) {
        rd_kafka_topic_partition_list_add(low.get(), topic.c_str(), p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_topic_partition_list_add(high.get(), topic.c_str(), p)->offset =
            RD_KAFKA_OFFSET_END;
      }
    }
    for (rd_kafka_topic_partition_list_t* list : {low.get(), high.get()}) {
      const rd_kafka_resp_err_t err =
          rd_kafka_offsets_for_times(consumer_.get(), list, kMetadataMs);
      if (err) {
        *error = std::string("the changelogs' offsets: ") + rd_kafka_err2str(err);
        return false;
      }
    }
    for (int i = 0; i < low->cnt; ++i) {
      const rd_kafka_topic_partition_t& l = low->elems[i];
      const rd_kafka_topic_partition_t& h = high->elems[i];
      // Not answered (the list keeps what was asked) or refused: bounds() asks.
      if (l.err || h.err || l.offset < 0 || h.offset < 0) continue;
      const size_t step = static_cast<size_t>(i) / partitions.size();
      kept_[{step, l.partition}] = {l.offset, h.offset};
    }
    return true;
  }

  bool read(size_t step, int32_t partition, int64_t from, int64_t to, Visit visit, void* ctx,
            std::string* error) override {
    if (handles_.size() <= step) handles_.resize(topics_.topics.size());
    Topic& topic = handles_.at(step);
    if (!topic)
      topic.reset(rd_kafka_topic_new(consumer_.get(), topics_.topics[step].c_str(), nullptr));
    if (!topic || rd_kafka_consume_start(topic.get(), partition, from) != 0) {
      *error = where(step, partition) + ": " + rd_kafka_err2str(rd_kafka_last_error());
      return false;
    }
    const bool ok = consume(topic.get(), step, partition, from, to, visit, ctx, error);
    rd_kafka_consume_stop(topic.get(), partition);
    return ok;
  }

 private:
  bool consume(rd_kafka_topic_t* topic, size_t step, int32_t partition, int64_t next, int64_t to,
               Visit visit, void* ctx, std::string* error) {
    int64_t progressed_ms = steady_ms();
    bool more = true;
    while (more && next < to) {
      // No more than there is: a batch waits to fill up (or for the timeout).
      const ssize_t n =
          rd_kafka_consume_batch(topic, partition, 100, batch_,
                                 static_cast<size_t>(std::min<int64_t>(kReadBatch, to - next)));
      if (n < 0) {
        *error = where(step, partition) + ": " + rd_kafka_err2str(rd_kafka_last_error());
        return false;
      }
      records_.clear();
      bool eof = false;
      for (ssize_t i = 0; i < n; ++i) {
        const rd_kafka_message_t* m = batch_[i];
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          eof = true;
        } else if (m->err) {
          if (error->empty()) *error = where(step, partition) + ": " + rd_kafka_message_errstr(m);
        } else if (m->offset >= next && m->offset < to) {
          records_.push_back(decode(m));
          next = m->offset + 1;
        }
      }
      // Called with no records too, so that a cancel is seen while waiting.
      if (error->empty()) more = visit(ctx, records_.data(), records_.size());
      for (ssize_t i = 0; i < n; ++i) rd_kafka_message_destroy(batch_[i]);
      if (!error->empty()) return false;
      if (eof) break;  // the end, past records compaction removed
      if (n > 0) {
        progressed_ms = steady_ms();
      } else if (steady_ms() - progressed_ms > kReadStallMs) {
        *error = where(step, partition) + ": no record for " + std::to_string(kReadStallMs / 1000) +
                 " s at offset " + std::to_string(next);
        return false;
      }
    }
    return true;
  }

  std::string where(size_t step, int32_t partition) const {
    return "changelog " + topics_.topics.at(step) + "[" + std::to_string(partition) + "]";
  }

  ChangelogTopics topics_;
  Client consumer_;             // the legacy consumer API: no group
  std::vector<Topic> handles_;  // by step, made on first read
  // prefetch_bounds()'s: (step, partition) -> (low, high)
  std::map<std::pair<size_t, int32_t>, std::pair<int64_t, int64_t>> kept_;
  rd_kafka_message_t* batch_[kReadBatch];
  std::vector<state::ChangelogRecord> records_;
};

// An admin client on the source's cluster (*admin) and the cluster's
// topics with their partition counts (*existing). False with *error.
bool cluster_topics(const pipeline::Generation& g, const std::string& client_id, Client* admin,
                    std::map<std::string, int>* existing, std::string* error) {
  rd_kafka_conf_t* conf = changelog_producer_conf(g, client_id, error);
  if (!conf) return false;
  *admin = make_client(RD_KAFKA_PRODUCER, conf, error);
  return *admin && topic_partitions(admin->get(), kMetadataMs, existing, error);
}

// Creates `topic` with `partitions` partitions, compacted or not. False
// with *error.
// `max_message_bytes` 0: the cluster's default.
bool create_topic(rd_kafka_t* rk, const std::string& topic, int partitions, bool compact,
                  uint64_t max_message_bytes, std::string* error) {
  char reason[512];
  rd_kafka_NewTopic_t* t =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, reason, sizeof reason);
  if (!t) {
    *error = reason;
    return false;
  }
  if (compact) rd_kafka_NewTopic_set_config(t, "cleanup.policy", "compact");
  if (max_message_bytes > 0) {
    rd_kafka_NewTopic_set_config(t, "max.message.bytes", std::to_string(max_message_bytes).c_str());
  }
  Queue queue(rd_kafka_queue_new(rk));
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, kCreateMs, reason, sizeof reason);
  rd_kafka_AdminOptions_set_operation_timeout(options, kCreateMs, reason, sizeof reason);
  rd_kafka_CreateTopics(rk, &t, 1, options, queue.get());
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue.get(), kCreateMs + 5000);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy(t);
  if (!ev) {
    *error = "no answer from the cluster";
    return false;
  }
  bool ok = rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR;
  if (!ok) *error = rd_kafka_event_error_string(ev);
  if (const rd_kafka_CreateTopics_result_t* r = rd_kafka_event_CreateTopics_result(ev)) {
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(r, &n);
    for (size_t i = 0; ok && i < n; ++i) {
      if (rd_kafka_topic_result_error(results[i])) {
        ok = false;
        *error = rd_kafka_topic_result_error_string(results[i]);
      }
    }
  }
  rd_kafka_event_destroy(ev);
  return ok;
}

}  // namespace

int ChangelogTopics::index_of(const std::string& step) const {
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i] == step) return static_cast<int>(i);
  }
  return -1;
}

ChangelogTopics changelog_topics(const pipeline::Generation& g) {
  ChangelogTopics t;
  const auto& configured = g.deployment.segments.at(g.segment).steps_config;
  for (const auto& step : g.steps) {
    if (!step.spec->state) continue;
    auto it = configured.find(step.name);
    t.steps.push_back(step.name);
    t.topics.push_back(it != configured.end() && !it->second.changelog_topic.empty()
                           ? it->second.changelog_topic
                           : g.pipeline.name + "-" + step.name + "-changelog");
  }
  return t;
}

uint64_t changelog_record_limit(const pipeline::Generation& g) {
  uint64_t limit = 1000000;  // librdkafka's and Kafka's default, about
  for (const auto& step : g.steps) {
    if (const auto& spec = step.spec->state) {
      limit = std::max(limit,
                       state::changelog_record_bytes(static_cast<uint64_t>(spec->max_value_bytes)));
    }
  }
  return limit;
}

bool ensure_changelog_topics(const pipeline::Generation& g, const ChangelogTopics& t,
                             const std::string& client_id, std::string* error) {
  if (t.topics.empty()) return true;
  Client admin;
  std::map<std::string, int> existing;
  if (!cluster_topics(g, client_id, &admin, &existing, error)) return false;
  const std::string source = g.source_topic();
  auto it = existing.find(source);
  if (it == existing.end()) {
    *error = "the source topic " + source +
             " does not exist: stateful steps need it (their changelogs have its partition count)";
    return false;
  }
  const int partitions = it->second;
  for (size_t i = 0; i < t.topics.size(); ++i) {
    const std::string& topic = t.topics[i];
    const std::string what = "the changelog topic " + topic + " of step '" + t.steps[i] + "'";
    auto found = existing.find(topic);
    if (found != existing.end()) {
      if (found->second == partitions) continue;
      *error = what + " has " + std::to_string(found->second) + " partition(s); it needs " +
               std::to_string(partitions) + ", one per partition of the source topic " + source +
               " (delete it, or name another in steps_config." + t.steps[i] + ".changelog_topic)";
      return false;
    }
    std::string why;
    if (!create_topic(admin.get(), topic, partitions, /*compact=*/true, changelog_record_limit(g),
                      &why)) {
      *error = what + " does not exist and could not be created (" + why + "): create it with " +
               std::to_string(partitions) + (partitions == 1 ? " partition" : " partitions") +
               " and cleanup.policy=compact (on the " +
               "dev broker: streams-host dev-broker --topic " + topic + ":" +
               std::to_string(partitions) + ")";
      return false;
    }
  }
  return true;
}

std::unique_ptr<state::ChangelogWriter> changelog_writer(const pipeline::Generation& g,
                                                         const ChangelogTopics& t,
                                                         const std::string& client_id,
                                                         std::string* error) {
  rd_kafka_conf_t* conf = changelog_producer_conf(g, client_id, error);
  if (!conf) return nullptr;
  auto writer = std::make_unique<Writer>(t);
  if (!writer->init(conf, error)) return nullptr;
  return writer;
}

std::unique_ptr<state::ChangelogReader> changelog_reader(const pipeline::Generation& g,
                                                         const ChangelogTopics& t,
                                                         const std::string& client_id,
                                                         std::string* error) {
  rd_kafka_conf_t* conf = changelog_consumer_conf(g, client_id, error);
  if (!conf) return nullptr;
  auto reader = std::make_unique<Reader>(t);
  if (!reader->init(conf, error)) return nullptr;
  return reader;
}

bool ensure_crossing_topic(const pipeline::Generation& g, const std::string& client_id,
                           std::string* error) {
  const std::string& name = g.pipeline.crossing_sink;
  if (name.empty()) return true;
  std::string topic;
  for (const pipeline::SinkBinding& sink : g.sinks) {
    if (sink.name == name && sink.settings) topic = sink.settings->target();
  }
  if (topic.empty()) return true;
  Client admin;
  std::map<std::string, int> existing;
  if (!cluster_topics(g, client_id, &admin, &existing, error)) return false;
  if (existing.count(topic)) return true;
  auto source = existing.find(g.source_topic());
  if (source == existing.end()) {
    *error = "the source topic " + g.source_topic() + " does not exist";
    return false;
  }
  std::string why;
  if (create_topic(admin.get(), topic, source->second, /*compact=*/false, 0, &why)) return true;
  *error = "the topic " + topic + " into the next segment does not exist and could not be " +
           "created (" + why + "): create it with " + std::to_string(source->second) +
           " partitions (on the dev broker: streams-host dev-broker --topic " + topic + ":" +
           std::to_string(source->second) + ")";
  return false;
}

}  // namespace streams::kafka
