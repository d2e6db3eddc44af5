#include "sinks/kafka/kafka_sink.h"
#include "common/clock.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstring>

#include "common/log.h"

namespace streams::sinks {
namespace {

// The producer's opaque is its KafkaSink.
void on_delivery_report(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  static_cast<KafkaSink*>(opaque)->on_report(*msg);
}

void client_error_cb(rd_kafka_t*, int err, const char* reason, void* opaque) {
  static_cast<KafkaSink*>(opaque)->on_client_error(err, reason);
}

int on_client_stats(rd_kafka_t*, char* json, size_t size, void* opaque) {
  static_cast<KafkaSink*>(opaque)->on_stats(json, size);
  return 0;  // librdkafka frees the JSON
}

rd_kafka_headers_t* copy_headers(const streams_record& record) {
  if (record.header_count == 0) return nullptr;
  rd_kafka_headers_t* headers = rd_kafka_headers_new(record.header_count);
  for (size_t i = 0; i < record.header_count; ++i) {
    const streams_header& h = record.headers[i];
    rd_kafka_header_add(headers, reinterpret_cast<const char*>(h.name.data),
                        static_cast<ssize_t>(h.name.size), h.value.data,
                        static_cast<ssize_t>(h.value.size));
  }
  return headers;
}

// Errors by which a broker refuses the records of a request for good; any
// other delivery failure is about the sink, not the record.
bool refused_for_good(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:  // e.g. no key on a compacted topic
    case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
      return true;
    default:
      return false;
  }
}

// What to do about a topic the brokers do not have ("" for other errors).
std::string missing_topic_hint(rd_kafka_resp_err_t err) {
  if (err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART && err != RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
    return "";
  }
  return " (the sink's brokers say the topic does not exist: create it, or correct the sink's "
         "topic)";
}

}  // namespace

std::unique_ptr<KafkaSink> KafkaSink::create(rd_kafka_conf_t* conf, const std::string& topic,
                                             pipeline::SinkListener& listener,
                                             metrics::PipelineMetrics& metrics,
                                             std::string stats_name, std::string* error) {
  std::unique_ptr<KafkaSink> sink(new KafkaSink(topic, listener, metrics, std::move(stats_name)));
  rd_kafka_conf_set_dr_msg_cb(conf, &on_delivery_report);
  rd_kafka_conf_set_error_cb(conf, &client_error_cb);
  rd_kafka_conf_set_stats_cb(conf, &on_client_stats);
  rd_kafka_conf_set_opaque(conf, sink.get());
  char reason[512];
  sink->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
  if (!sink->rk_) {
    rd_kafka_conf_destroy(conf);
    *error = std::string("cannot create producer: ") + reason;
    return nullptr;
  }
  sink->rkt_ = rd_kafka_topic_new(sink->rk_, topic.c_str(), nullptr);
  if (!sink->rkt_) {
    *error =
        "cannot create topic handle for " + topic + ": " + rd_kafka_err2str(rd_kafka_last_error());
    return nullptr;
  }
  return sink;
}

KafkaSink::KafkaSink(std::string topic, pipeline::SinkListener& listener,
                     metrics::PipelineMetrics& metrics, std::string stats_name)
    : topic_(std::move(topic)),
      listener_(listener),
      metrics_(metrics),
      stats_name_(std::move(stats_name)) {}

KafkaSink::~KafkaSink() {
  if (rkt_) rd_kafka_topic_destroy(rkt_);
  if (rk_) rd_kafka_destroy(rk_);
}

void KafkaSink::on_report(const rd_kafka_message_t& msg) {
  pending_bytes_ -= msg.len + msg.key_len;
  --pending_;
  const auto token = reinterpret_cast<uintptr_t>(msg._private);
  if (!msg.err) return listener_.on_acknowledged(*this, token);
  const std::string error = topic_ + ": " + rd_kafka_err2str(msg.err) + missing_topic_hint(msg.err);
  if (!refused_for_good(msg.err)) {
    // Transient failures are retried without a time limit by default, so
    // this is an overridden message.timeout.ms or a failure of the sink.
    return listener_.on_failed(*this, ("delivery failed: " + error).c_str());
  }
  streams_record out{};
  out.struct_size = sizeof(out);
  out.key = {static_cast<const uint8_t*>(msg.key), msg.key_len};
  out.value = {static_cast<const uint8_t*>(msg.payload), msg.len};
  out.timestamp_ms = rd_kafka_message_timestamp(&msg, nullptr);
  headers_.clear();
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(&msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == 0; ++i) {
      headers_.push_back({{reinterpret_cast<const uint8_t*>(name), std::strlen(name)},
                          {static_cast<const uint8_t*>(value), size}});
    }
  }
  out.headers = headers_.data();
  out.header_count = headers_.size();
  const std::string reason = "topic " + error + " (the broker refused the output)";
  listener_.on_rejected(*this, token, out, reason.c_str());
}

pipeline::WriteResult KafkaSink::write(const streams_record& record, uint64_t token,
                                       const streams_origin*, std::string* reason) {
  std::chrono::steady_clock::time_point blocked_since{};
  bool warned = false;
  if (pending() == 0) progress_ms_ = steady_ms();
  for (;;) {
    rd_kafka_headers_t* headers = copy_headers(record);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_, RD_KAFKA_V_RKT(rkt_), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(const_cast<uint8_t*>(record.value.data), record.value.size),
        RD_KAFKA_V_KEY(record.key.data, record.key.size), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_TIMESTAMP(record.timestamp_ms > 0 ? record.timestamp_ms : 0),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(token))), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      pending_bytes_ += record.value.size + record.key.size;
      ++pending_;
      listener_.on_written(token);
      return pipeline::WriteResult::ok;
    }
    if (headers) rd_kafka_headers_destroy(headers);  // not taken over on failure
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
      *reason = "topic " + topic_ + " refused the record: " + rd_kafka_err2str(err) + " (" +
                std::to_string(record.key.size + record.value.size) + " bytes of key and value)";
      return pipeline::WriteResult::rejected;
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      log::error("sink " + topic_ + ": producing an output failed: " + rd_kafka_err2str(err) +
                 missing_topic_hint(err));
      return pipeline::WriteResult::stop;
    }
    const auto now = std::chrono::steady_clock::now();
    if (blocked_since == std::chrono::steady_clock::time_point{}) blocked_since = now;
    if (!warned && now - blocked_since > std::chrono::seconds(1)) {
      log::warn("sink " + topic_ + ": producer queue full for 1 s; waiting for deliveries");
      warned = true;
    }
    if (stop_ && stop_->load(std::memory_order_relaxed)) {
      log::warn("sink " + topic_ + ": stop requested while the producer queue is full");
      return pipeline::WriteResult::stop;
    }
    poll(10);  // backpressure: wait for deliveries to make room
  }
}

void KafkaSink::on_client_error(int err, const char* reason) {
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    listener_.on_failed(*this, (std::string("fatal Kafka client error: ") + reason).c_str());
    return;
  }
  uint64_t suppressed = 0;
  if (client_log_.allow(std::chrono::steady_clock::now(), &suppressed)) {
    log::warn("kafka (" + stats_name_ + "): " + reason + log::RateLimitedLog::note(suppressed));
  }
}

void KafkaSink::poll(int timeout_ms) {
  // One clock read a poll that served delivery reports (not error or
  // statistics events), not one a report.
  const uint64_t before = pending_;
  rd_kafka_poll(rk_, timeout_ms);
  if (pending_ < before) progress_ms_ = steady_ms();
}

}  // namespace streams::sinks
