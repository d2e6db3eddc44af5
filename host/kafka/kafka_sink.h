// A Kafka sink: a librdkafka producer writing a chain's outputs to one
// topic (data plane). Keys, headers and timestamps are written as given.
// Transient failures (a broker down, leader moves, timeouts) are retried by
// the producer with backoff and, unless message.timeout.ms is overridden,
// without a time limit: an output is delivered, refused for good, or the
// sink reports that it cannot deliver.
//
// Thread: write() and poll() on the processing thread; delivery reports are
// served inside poll() on that thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/chain.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_topic_s rd_kafka_topic_t;
typedef struct rd_kafka_conf_s rd_kafka_conf_t;
typedef struct rd_kafka_message_s rd_kafka_message_t;

namespace streams::kafka {

class KafkaSink;

// Told about every output the sink takes and when it is delivered.
class DeliveryListener {
 public:
  virtual ~DeliveryListener() = default;
  // The producer accepted the output tagged `token`.
  virtual void on_produced(uint64_t token) = 0;
  // `sink`'s broker acknowledged (error null) or the output could not be
  // delivered (error: "TOPIC: reason"; the sink is not usable as it is).
  virtual void on_delivered(KafkaSink& sink, uint64_t token, const char* error) = 0;
  // The broker refused this one output for good (too large, invalid): a
  // record error. `output` and `reason` are valid during the call only.
  virtual void on_rejected(KafkaSink& sink, uint64_t token, const streams_record& output,
                           const char* reason) = 0;
  // librdkafka's error callback (err: rd_kafka_resp_err_t).
  virtual void on_client_error(int err, const char* reason) = 0;
  // librdkafka's statistics of `sink`'s producer (JSON, valid during the call).
  virtual void on_stats(const KafkaSink& sink, const char* json, size_t size) = 0;
};

class KafkaSink final : public pipeline::OutputSink {
 public:
  // Takes ownership of `conf`. On failure returns nullptr with *error.
  static std::unique_ptr<KafkaSink> create(rd_kafka_conf_t* conf, const std::string& topic,
                                           DeliveryListener& listener, std::string* error);
  ~KafkaSink() override;

  // Copies `record` into the producer queue; waits (serving delivery reports)
  // while the queue is full, unless a stop was requested (stop). A record
  // the producer can never send (too large) is rejected; any other refusal
  // stops.
  pipeline::WriteResult write(const streams_record& record, uint64_t token,
                              std::string* reason) override;
  // Serves delivery reports for up to `timeout_ms`.
  void poll(int timeout_ms);
  // Outputs not yet acknowledged, and their bytes of key and value.
  int pending() const { return pending_; }
  uint64_t pending_bytes() const { return pending_bytes_; }
  // How long outputs have waited without any delivery report (ms; 0 when
  // none is pending): a sink or DLQ that cannot deliver shows here.
  int64_t waiting_ms(int64_t now_ms) const { return pending() > 0 ? now_ms - progress_ms_ : 0; }
  const std::string& topic() const { return topic_; }
  // `stop` (owned by the caller, outliving the sink) ends waits for room.
  void set_stop_flag(const std::atomic<bool>* stop) { stop_ = stop; }

  // For the producer's callbacks only.
  void on_report(const rd_kafka_message_t& msg);
  DeliveryListener& listener() { return listener_; }

 private:
  KafkaSink(std::string topic, DeliveryListener& listener);

  rd_kafka_t* rk_ = nullptr;
  rd_kafka_topic_t* rkt_ = nullptr;
  std::string topic_;
  DeliveryListener& listener_;
  const std::atomic<bool>* stop_ = nullptr;
  uint64_t pending_bytes_ = 0;
  int pending_ = 0;          // produced, no delivery report yet (own count: no lock to read)
  int64_t progress_ms_ = 0;  // steady clock: the last poll that served delivery reports,
                             // or the first output after none was pending
  std::vector<streams_header> headers_;  // a refused output's, reused
};

}  // namespace streams::kafka
