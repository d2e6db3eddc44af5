#include "kafka/dlq_replay.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>

#include "common/log.h"
#include "kafka/handles.h"
#include "kafka/kafka_conf.h"
#include "pipeline/dead_letters.h"

namespace streams::kafka {
namespace {

using Clock = std::chrono::steady_clock;
namespace hdr = pipeline::dlq_header;

const std::string* find(const HeaderList& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return &v;
  }
  return nullptr;
}

bool listed(const std::vector<std::string>& list, const std::string* value) {
  return list.empty() || (value && std::find(list.begin(), list.end(), *value) != list.end());
}

struct Deliveries {
  uint64_t failed = 0;
  std::string first_error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  if (!msg->err) return;
  auto* d = static_cast<Deliveries*>(opaque);
  if (d->failed++ == 0) {
    d->first_error = std::string(rd_kafka_topic_name(msg->rkt)) + ": " + rd_kafka_err2str(msg->err);
  }
}

Client make_client(rd_kafka_type_t type, const std::vector<std::pair<std::string, std::string>>& kv,
                   Deliveries* deliveries, std::string* error) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char reason[512];
  for (const auto& [k, v] : kv) {
    if (!set_setting(conf, k, v, error)) {
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  if (deliveries) {
    rd_kafka_conf_set_dr_msg_cb(conf, &on_delivery);
    rd_kafka_conf_set_opaque(conf, deliveries);
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, reason, sizeof reason);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    *error = reason;
  }
  return Client(rk);
}

HeaderList read_headers(const rd_kafka_message_t* msg) {
  HeaderList out;
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  for (size_t i = 0; i < rd_kafka_header_cnt(hdrs); ++i) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    rd_kafka_header_get_all(hdrs, i, &name, &value, &size);
    out.emplace_back(name, value ? std::string(static_cast<const char*>(value), size) : "");
  }
  return out;
}

// The DLQ partitions with records not yet replayed by `group`: their start
// offsets (in the list) and ends (the high watermarks now).
class Backlog {
 public:
  bool load(rd_kafka_t* consumer, const ReplayOptions& o, std::string* error);
  rd_kafka_topic_partition_list_t* start() const { return start_.get(); }
  int64_t end(int32_t partition) const { return ends_.at(partition); }
  bool empty() const { return start_->cnt == 0; }

 private:
  PartitionList start_ = partition_list(0);
  std::map<int32_t, int64_t> ends_;
};

bool Backlog::load(rd_kafka_t* consumer, const ReplayOptions& o, std::string* error) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  {
    Topic rkt(rd_kafka_topic_new(consumer, o.dlq_topic.c_str(), nullptr));
    err = rd_kafka_metadata(consumer, 0, rkt.get(), &md, o.timeout_ms);
  }
  if (!err && (md->topic_cnt != 1 || md->topics[0].err)) {
    err = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  }
  if (err) {
    if (md) rd_kafka_metadata_destroy(md);
    *error = "dead-letter topic " + o.dlq_topic + ": " + rd_kafka_err2str(err);
    return false;
  }
  PartitionList all = partition_list(md->topics[0].partition_cnt);
  for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
    rd_kafka_topic_partition_list_add(all.get(), o.dlq_topic.c_str(),
                                      md->topics[0].partitions[i].id);
  }
  rd_kafka_metadata_destroy(md);
  if (!o.group.empty() && (err = rd_kafka_committed(consumer, all.get(), o.timeout_ms))) {
    *error = "reading the committed offsets of group " + o.group + ": " + rd_kafka_err2str(err);
    return false;
  }
  for (int i = 0; i < all->cnt; ++i) {
    const int32_t p = all->elems[i].partition;
    int64_t low = 0, high = 0;
    err = rd_kafka_query_watermark_offsets(consumer, o.dlq_topic.c_str(), p, &low, &high,
                                           o.timeout_ms);
    if (err) {
      *error = o.dlq_topic + "[" + std::to_string(p) + "]: " + rd_kafka_err2str(err);
      return false;
    }
    const int64_t from = std::max(all->elems[i].offset, low);
    if (from >= high) continue;
    rd_kafka_topic_partition_list_add(start_.get(), o.dlq_topic.c_str(), p)->offset = from;
    ends_[p] = high;
  }
  return true;
}

struct Tally {
  uint64_t read = 0, replayed = 0;
  std::map<std::string, uint64_t> skipped;  // by reason
  std::map<std::string, uint64_t> topics;   // replayed, by target
};

bool produce(rd_kafka_t* producer, const rd_kafka_message_t* msg, const ReplayPlan& plan,
             const HeaderList& headers, std::string* error) {
  const HeaderList kept = strip_error_headers(headers);
  rd_kafka_headers_t* out = rd_kafka_headers_new(kept.size());
  for (const auto& [n, v] : kept) rd_kafka_header_add(out, n.data(), n.size(), v.data(), v.size());
  rd_kafka_timestamp_type_t type;
  const int64_t ts = rd_kafka_message_timestamp(msg, &type);
  for (;;) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC(plan.topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(msg->payload, msg->len), RD_KAFKA_V_KEY(msg->key, msg->key_len),
        RD_KAFKA_V_HEADERS(out), RD_KAFKA_V_TIMESTAMP(ts > 0 ? ts : 0), RD_KAFKA_V_END);
    if (!err) return true;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_headers_destroy(out);
      *error = "producing to " + plan.topic + ": " + rd_kafka_err2str(err);
      return false;
    }
    rd_kafka_poll(producer, 10);
  }
}

// Reads every backlog partition to its end, replaying what the plan says.
bool replay_backlog(rd_kafka_t* consumer, rd_kafka_t* producer, const Backlog& backlog,
                    const ReplayOptions& o, const std::atomic<bool>& stop, Tally* tally,
                    std::string* error) {
  std::map<int32_t, bool> open;
  for (int i = 0; i < backlog.start()->cnt; ++i) open[backlog.start()->elems[i].partition] = true;
  size_t remaining = open.size();
  auto idle_deadline = Clock::now() + std::chrono::milliseconds(o.timeout_ms);
  log::RateLimitedLog errors(1);
  while (remaining > 0) {
    if (stop.load(std::memory_order_relaxed)) {
      *error = "stopped before the end of the backlog";
      return false;
    }
    if (Clock::now() >= idle_deadline) {
      *error = "no record arrived from " + o.dlq_topic + " for " + std::to_string(o.timeout_ms) +
               " ms before the end of the backlog";
      return false;
    }
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(consumer, 100);
    rd_kafka_poll(producer, 0);
    if (!msg) continue;
    Message guard(msg);
    if (msg->err && msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      uint64_t suppressed = 0;
      if (errors.allow(Clock::now(), &suppressed)) {
        log::warn(std::string("reading the dead-letter topic: ") + rd_kafka_message_errstr(msg) +
                  log::RateLimitedLog::note(suppressed));
      }
      continue;
    }
    idle_deadline = Clock::now() + std::chrono::milliseconds(o.timeout_ms);
    auto it = open.find(msg->partition);
    if (it == open.end() || !it->second) continue;
    const int64_t end = backlog.end(msg->partition);
    if (!msg->err && msg->offset < end) {
      ++tally->read;
      const HeaderList headers = read_headers(msg);
      const ReplayPlan plan = plan_replay(headers, o);
      if (!plan.replay) {
        ++tally->skipped[plan.skipped];
      } else {
        if (!produce(producer, msg, plan, headers, error)) return false;
        ++tally->replayed;
        ++tally->topics[plan.topic];
      }
    }
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF || msg->offset + 1 >= end) {
      it->second = false;
      --remaining;
    }
  }
  return true;
}

std::string summary(const Tally& t, const ReplayOptions& o) {
  std::string text = "replayed " + std::to_string(t.replayed) + " of " + std::to_string(t.read) +
                     " dead-letter record(s) from " + o.dlq_topic;
  std::string to;
  for (const auto& [topic, n] : t.topics) {
    to += (to.empty() ? "" : ", ") + topic + " (" + std::to_string(n) + ")";
  }
  if (!to.empty()) text += " to " + to;
  for (const auto& [why, n] : t.skipped) text += "; skipped " + std::to_string(n) + " " + why;
  return text;
}

}  // namespace

ReplayPlan plan_replay(const HeaderList& headers, const ReplayOptions& options) {
  ReplayPlan plan;
  const std::string* topic = find(headers, hdr::kTopic);
  const std::string* kind = find(headers, hdr::kKind);
  const std::string* record = find(headers, hdr::kRecord);
  if (!topic || !kind) {
    plan.skipped = "without error headers";
  } else if (find(headers, hdr::kValueOmitted)) {
    plan.skipped = "sent without their key, value and headers (too large for the DLQ)";
  } else if (!listed(options.kinds, kind)) {
    plan.skipped = "of other kinds";
  } else if (!listed(options.steps, find(headers, hdr::kStep))) {
    plan.skipped = "of other steps";
  } else if (record && *record == "derived" && !options.include_derived) {
    plan.skipped = "derived (batch or window outputs; --include-derived replays them)";
  } else if (record && *record == "output" && options.to_topic.empty()) {
    plan.skipped = "outputs a sink's broker refused (--to TOPIC replays them there)";
  } else {
    plan.replay = true;
    plan.topic = options.to_topic.empty() ? *topic : options.to_topic;
  }
  return plan;
}

HeaderList strip_error_headers(const HeaderList& headers) {
  HeaderList kept;
  for (const auto& h : headers) {
    if (std::string_view(h.first).substr(0, hdr::kPrefix.size()) != hdr::kPrefix) {
      kept.push_back(h);
    }
  }
  return kept;
}

int replay_dead_letters(const ReplayOptions& o, const std::atomic<bool>& stop) {
  std::string error;
  std::vector<std::pair<std::string, std::string>> consumer_conf = {
      {"bootstrap.servers", o.brokers},
      {"client.id", "streams-dlq-replay"},
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", "earliest"},
      // The consumer API needs a group id; without --group it is never
      // joined nor committed to.
      {"group.id", o.group.empty() ? "streams-dlq-replay" : o.group}};
  consumer_conf.insert(consumer_conf.end(), o.dlq_settings.begin(), o.dlq_settings.end());
  std::vector<std::pair<std::string, std::string>> producer_conf = {
      {"bootstrap.servers", o.target_brokers},
      {"client.id", "streams-dlq-replay"},
      {"enable.idempotence", "true"}};
  producer_conf.insert(producer_conf.end(), o.target_settings.begin(), o.target_settings.end());
  Client consumer = make_client(RD_KAFKA_CONSUMER, consumer_conf, nullptr, &error);
  Deliveries deliveries;
  Client producer =
      consumer ? make_client(RD_KAFKA_PRODUCER, producer_conf, &deliveries, &error) : nullptr;
  if (!producer) {
    std::fprintf(stderr, "error: %s\n", error.c_str());
    return 2;
  }
  Backlog backlog;
  Tally tally;
  bool ok = backlog.load(consumer.get(), o, &error);
  if (ok && !backlog.empty()) {
    rd_kafka_assign(consumer.get(), backlog.start());
    ok = replay_backlog(consumer.get(), producer.get(), backlog, o, stop, &tally, &error);
  }
  rd_kafka_flush(producer.get(), o.timeout_ms);
  if (ok && (rd_kafka_outq_len(producer.get()) > 0 || deliveries.failed > 0)) {
    error = deliveries.failed > 0 ? std::to_string(deliveries.failed) +
                                        " record(s) not delivered, first: " + deliveries.first_error
                                  : "records still undelivered after timeout_ms";
    ok = false;
  }
  if (ok && !backlog.empty() && !o.group.empty()) {
    PartitionList done(rd_kafka_topic_partition_list_copy(backlog.start()));
    for (int i = 0; i < done->cnt; ++i)
      done->elems[i].offset = backlog.end(done->elems[i].partition);
    if (rd_kafka_resp_err_t err = rd_kafka_commit(consumer.get(), done.get(), 0)) {
      error = std::string("committing the replay's progress: ") + rd_kafka_err2str(err) +
              " (a second run replays these records again)";
      ok = false;
    }
  }
  rd_kafka_consumer_close(consumer.get());
  std::printf("%s\n", summary(tally, o).c_str());
  if (ok) return 0;
  std::fprintf(stderr, "error: %s; progress not committed\n", error.c_str());
  return 1;
}

}  // namespace streams::kafka
