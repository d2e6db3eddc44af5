#include "kafka/dlq_reader.h"

#include <algorithm>
#include <chrono>

#include "common/log.h"
#include "kafka/group_offsets.h"
#include "kafka/kafka_conf.h"

namespace streams::kafka {
namespace {

using Clock = std::chrono::steady_clock;

HeaderList read_headers(const rd_kafka_message_t& msg) {
  HeaderList out;
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(&msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  for (size_t i = 0; i < rd_kafka_header_cnt(hdrs); ++i) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    rd_kafka_header_get_all(hdrs, i, &name, &value, &size);
    out.emplace_back(name, value ? std::string(static_cast<const char*>(value), size) : "");
  }
  return out;
}

}  // namespace

const std::string* find_header(const HeaderList& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return &v;
  }
  return nullptr;
}

bool listed(const std::vector<std::string>& list, const std::string* value) {
  return list.empty() || (value && std::find(list.begin(), list.end(), *value) != list.end());
}

Client make_tool_client(rd_kafka_type_t type, const Settings& settings,
                        void (*on_delivery)(rd_kafka_t*, const rd_kafka_message_t*, void*),
                        void* opaque, std::string* error, bool host_logs) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : settings) {
    if (!set_setting(conf, k, v, error)) {
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  if (host_logs) {
    route_logs(conf);
  } else {
    route_tool_logs(conf);
  }
  if (on_delivery) {
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, opaque);
  }
  char reason[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, reason, sizeof reason);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    *error = reason;
  }
  return Client(rk);
}

std::unique_ptr<DlqReader> DlqReader::open(const DlqSource& source, std::string* error) {
  std::unique_ptr<DlqReader> r(new DlqReader(source));
  Settings settings = {{"bootstrap.servers", source.brokers},
                       {"client.id", source.client_id},
                       {"enable.auto.commit", "false"},
                       {"enable.partition.eof", "true"},
                       {"auto.offset.reset", "earliest"},
                       // The consumer API needs a group id; without a group it
                       // is never joined nor committed to.
                       {"group.id", source.group.empty() ? source.client_id : source.group}};
  settings.insert(settings.end(), source.settings.begin(), source.settings.end());
  r->consumer_ = make_tool_client(RD_KAFKA_CONSUMER, settings, nullptr, nullptr, error);
  return r->consumer_ ? std::move(r) : nullptr;
}

DlqReader::~DlqReader() {
  if (consumer_) rd_kafka_consumer_close(consumer_.get());
}

// The partitions with records after the group's offsets: where each starts
// (in start_) and ends (the high watermark now).
bool DlqReader::start(std::string* error) {
  const DlqSource& o = source_;
  std::vector<PartitionPosition> positions;
  if (!read_positions(consumer_.get(), o.topic, !o.group.empty(), o.timeout_ms, &positions,
                      error)) {
    *error = "reading the dead-letter queue on " + o.brokers + ": " + *error +
             (o.group.empty() ? "" : " (group " + o.group + ")");
    return false;
  }
  for (const PartitionPosition& p : positions) {
    const int64_t from = std::max(p.committed, p.low);
    if (from >= p.high) continue;
    rd_kafka_topic_partition_list_add(start_.get(), o.topic.c_str(), p.partition)->offset = from;
    ends_[p.partition] = p.high;
  }
  if (!empty()) rd_kafka_assign(consumer_.get(), start_.get());
  return true;
}

bool DlqReader::read(const std::atomic<bool>& stop, const OnRecord& on,
                     const std::function<void()>& turn, std::string* error) {
  std::map<int32_t, bool> open;
  for (int i = 0; i < start_->cnt; ++i) open[start_->elems[i].partition] = true;
  size_t remaining = open.size();
  auto idle_deadline = Clock::now() + std::chrono::milliseconds(source_.timeout_ms);
  log::RateLimitedLog errors(1);
  while (remaining > 0) {
    if (stop.load(std::memory_order_relaxed)) {
      *error = "stopped before the end of the dead-letter topic";
      return false;
    }
    if (Clock::now() >= idle_deadline) {
      *error = "no record arrived from " + source_.topic + " for " +
               std::to_string(source_.timeout_ms) + " ms before its end";
      return false;
    }
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(consumer_.get(), 100);
    if (turn) turn();
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
    idle_deadline = Clock::now() + std::chrono::milliseconds(source_.timeout_ms);
    auto it = open.find(msg->partition);
    if (it == open.end() || !it->second) continue;
    const int64_t end = ends_.at(msg->partition);
    if (!msg->err && msg->offset < end && !on(*msg, read_headers(*msg), error)) return false;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF || msg->offset + 1 >= end) {
      it->second = false;
      --remaining;
    }
  }
  return true;
}

bool DlqReader::commit(std::string* error) {
  if (empty()) return true;
  PartitionList done(rd_kafka_topic_partition_list_copy(start_.get()));
  for (int i = 0; i < done->cnt; ++i) done->elems[i].offset = ends_.at(done->elems[i].partition);
  if (rd_kafka_resp_err_t err = rd_kafka_commit(consumer_.get(), done.get(), 0)) {
    *error = std::string("committing the progress of group ") + source_.group + ": " +
             rd_kafka_err2str(err);
    return false;
  }
  return true;
}

}  // namespace streams::kafka
