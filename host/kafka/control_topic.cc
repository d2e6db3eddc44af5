#include "kafka/control_topic.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "kafka/dlq_reader.h"

namespace streams::kafka {
namespace {

using Json = nlohmann::json;

constexpr const char* kPausePrefix = "pause/";
constexpr const char* kDrainedPrefix = "drained/";

bool starts_with(const std::string& s, const char* prefix, std::string* rest) {
  const std::string p = prefix;
  if (s.compare(0, p.size(), p) != 0) return false;
  *rest = s.substr(p.size());
  return true;
}

// The producer's delivery reports: the record's sequence number is its
// opaque; a report for an earlier record (one given up on) is ignored.
void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  static_cast<ControlReader*>(opaque)->delivered(reinterpret_cast<uintptr_t>(m->_private), m->err,
                                                 m->offset);
}

bool unknown_topic(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
         err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
}

}  // namespace

std::string pause_key(const std::string& group) { return kPausePrefix + group; }

std::string drained_key(const std::string& group, const std::string& member) {
  return kDrainedPrefix + group + "/" + member;
}

std::string encode(const PauseRecord& r) {
  return Json{{"paused", r.paused}, {"by", r.by}, {"at_ms", r.at_ms}}.dump();
}

std::string encode(const DrainedRecord& r) {
  return Json{{"pause_offset", r.pause_offset}, {"partitions", r.partitions}}.dump();
}

ControlRecord decode(const std::string& key, const std::string& value, int64_t offset) {
  ControlRecord out;
  const Json j = Json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return out;
  std::string rest;
  if (starts_with(key, kPausePrefix, &rest)) {
    const auto paused = j.find("paused");
    if (paused == j.end() || !paused->is_boolean()) return out;
    out.kind = ControlRecord::pause_record;
    out.group = rest;
    out.pause = {paused->get<bool>(), j.value("by", std::string("an operator")),
                 j.value("at_ms", int64_t{0}), offset};
  } else if (starts_with(key, kDrainedPrefix, &rest)) {
    const size_t slash = rest.rfind('/');
    const auto parts = j.find("partitions");
    if (slash == std::string::npos || parts == j.end() || !parts->is_array()) return out;
    out.kind = ControlRecord::drained_record;
    out.group = rest.substr(0, slash);
    out.member = rest.substr(slash + 1);
    out.drained.pause_offset = j.value("pause_offset", int64_t{-1});
    for (const Json& p : *parts) {
      if (p.is_number_integer()) out.drained.partitions.push_back(p.get<int32_t>());
    }
  }
  return out;
}

std::vector<int32_t> not_covered(const std::vector<int32_t>& all,
                                 const std::vector<DrainedRecord>& reports) {
  std::set<int32_t> covered;
  for (const DrainedRecord& r : reports) covered.insert(r.partitions.begin(), r.partitions.end());
  std::vector<int32_t> out;
  for (int32_t p : all) {
    if (!covered.count(p)) out.push_back(p);
  }
  return out;
}

std::unique_ptr<ControlReader> ControlReader::open(const Settings& settings, std::string topic,
                                                   const std::string& client_id, bool host_logs,
                                                   std::string* error) {
  std::unique_ptr<ControlReader> r(new ControlReader);
  r->topic_ = std::move(topic);
  Settings consumer = settings;
  consumer.insert(consumer.end(), {{"client.id", client_id},
                                   {"enable.auto.commit", "false"},
                                   {"enable.auto.offset.store", "false"},
                                   // Offset 0 gone (compaction): from the first kept.
                                   {"auto.offset.reset", "earliest"},
                                   // The consumer API needs a group id; none is joined.
                                   {"group.id", client_id}});
  r->consumer_ = make_tool_client(RD_KAFKA_CONSUMER, consumer, nullptr, nullptr, error, host_logs);
  if (!r->consumer_) return nullptr;
  r->producer_settings_ = settings;
  r->producer_settings_.insert(r->producer_settings_.end(),
                               {{"client.id", client_id}, {"enable.idempotence", "true"}});
  r->host_logs_ = host_logs;
  return r;
}

bool ControlReader::offsets(int timeout_ms, int64_t* first, int64_t* end, std::string* error) {
  *first = *end = 0;
  const rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(consumer_.get(), topic_.c_str(), 0, first, end, timeout_ms);
  if (unknown_topic(err)) return true;
  if (err) {
    *error = "reading the end of " + topic_ + ": " + rd_kafka_err2str(err);
    return false;
  }
  return true;
}

bool ControlReader::read(int64_t from, int64_t to, int timeout_ms,
                         const std::function<void(const ControlRecord&)>& on, std::string* error) {
  if (assigned_at_ == -2 || from != next_) {
    PartitionList list = partition_list(1);
    rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), 0)->offset = from;
    if (rd_kafka_resp_err_t err = rd_kafka_assign(consumer_.get(), list.get())) {
      *error = "reading " + topic_ + ": " + rd_kafka_err2str(err);
      return false;
    }
    assigned_at_ = from;
    next_ = from;
  }
  const int64_t deadline = steady_ms() + timeout_ms;
  while (to < 0 || next_ < to) {
    const int64_t left = deadline - steady_ms();
    if (left <= 0) break;
    Message m(
        rd_kafka_consumer_poll(consumer_.get(), static_cast<int>(std::min<int64_t>(left, 200))));
    if (!m) continue;
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF || unknown_topic(m->err)) continue;
      *error = "reading " + topic_ + ": " + rd_kafka_message_errstr(m.get());
      return false;
    }
    next_ = m->offset + 1;
    const std::string key(static_cast<const char*>(m->key), m->key_len);
    const std::string value(static_cast<const char*>(m->payload), m->len);
    on(decode(key, value, m->offset));
  }
  if (to >= 0 && next_ < to) {
    *error = "reading " + topic_ + ": offsets " + std::to_string(next_) + " to " +
             std::to_string(to - 1) + " did not come within " + std::to_string(timeout_ms) + " ms";
    return false;
  }
  return true;
}

void ControlReader::delivered(uintptr_t seq, rd_kafka_resp_err_t err, int64_t offset) {
  if (seq != seq_) return;
  delivery_ = err ? Delivery{true, -1, rd_kafka_err2str(err)} : Delivery{true, offset, ""};
}

int64_t ControlReader::write(const std::string& key, const std::string& value, int timeout_ms,
                             std::string* error) {
  if (!producer_) {  // made at the first write: most hosts never write
    producer_ = make_tool_client(RD_KAFKA_PRODUCER, producer_settings_, on_delivery, this, error,
                                 host_logs_);
    if (!producer_) return -1;
  }
  delivery_ = Delivery{};
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      producer_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_PARTITION(0),
      RD_KAFKA_V_KEY(key.data(), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(++seq_))), RD_KAFKA_V_END);
  if (err) {
    *error = "writing to " + topic_ + ": " + rd_kafka_err2str(err);
    return -1;
  }
  const int64_t deadline = steady_ms() + timeout_ms;
  while (!delivery_.done && steady_ms() < deadline) rd_kafka_poll(producer_.get(), 100);
  if (!delivery_.done) {
    *error = "writing to " + topic_ + ": no answer from the brokers within " +
             std::to_string(timeout_ms) + " ms";
    return -1;
  }
  if (!delivery_.error.empty()) {
    *error = "writing to " + topic_ + ": " + delivery_.error;
    return -1;
  }
  return delivery_.offset;
}

}  // namespace streams::kafka
