// A Kafka sink: a librdkafka producer writing a chain's outputs to one
// topic (data plane). Keys, headers and timestamps are written as given.
// Transient failures (a broker down, leader moves, timeouts) are retried by
// the producer with backoff and, unless message.timeout.ms is overridden,
// without a time limit: an output is delivered, refused for good, or the
// sink reports that it cannot deliver.
//
// Acknowledgements (SinkListener): delivered, refused for good (a record
// error), or failed (the sink cannot deliver as configured: a delivery
// failure with an overridden message.timeout.ms, a fatal client error).
//
// Thread: write() and poll() on the processing thread; delivery reports are
// served inside poll() on that thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/log.h"
#include "config/sink_type.h"
#include "metrics/metrics.h"
#include "pipeline/sink.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_topic_s rd_kafka_topic_t;
typedef struct rd_kafka_conf_s rd_kafka_conf_t;
typedef struct rd_kafka_message_s rd_kafka_message_t;

namespace streams::sinks {

class KafkaSink final : public pipeline::OutputSink {
 public:
  // Takes ownership of `conf`. The producer's statistics go to `metrics`
  // (which must outlive the sink) as client `stats_name`. On failure
  // returns nullptr with *error.
  static std::unique_ptr<KafkaSink> create(rd_kafka_conf_t* conf, const std::string& topic,
                                           pipeline::SinkListener& listener,
                                           metrics::PipelineMetrics& metrics,
                                           std::string stats_name, std::string* error);
  ~KafkaSink() override;

  // Copies `record` into the producer queue; waits (serving delivery reports)
  // while the queue is full, unless a stop was requested (stop). A record
  // the producer can never send (too large) is rejected; any other refusal
  // stops.
  pipeline::WriteResult write(const streams_record& record, uint64_t token,
                              const streams_origin* origin, std::string* reason) override;
  // Serves delivery reports for up to `timeout_ms`.
  void poll(int timeout_ms) override;
  uint64_t pending() const override { return pending_; }
  uint64_t pending_bytes() const override { return pending_bytes_; }
  int64_t waiting_ms(int64_t now_ms) const override {
    return pending_ > 0 ? now_ms - progress_ms_ : 0;
  }
  void set_stop_flag(const std::atomic<bool>* stop) override { stop_ = stop; }
  std::string describe() const override { return topic_; }
  std::string describe_wait(int64_t wait_ms) const override {
    return std::to_string(pending()) + " output(s) without a delivery report for " +
           std::to_string(wait_ms / 1000) + " s (brokers down, or the topic missing?)";
  }

  // For the producer's callbacks only.
  void on_report(const rd_kafka_message_t& msg);
  void on_client_error(int err, const char* reason);
  void on_stats(const char* json, size_t size) {
    metrics_.set_client_stats(stats_name_, json, size);
  }

 private:
  KafkaSink(std::string topic, pipeline::SinkListener& listener, metrics::PipelineMetrics& metrics,
            std::string stats_name);

  rd_kafka_t* rk_ = nullptr;
  rd_kafka_topic_t* rkt_ = nullptr;
  std::string topic_;
  pipeline::SinkListener& listener_;
  metrics::PipelineMetrics& metrics_;
  std::string stats_name_;
  const std::atomic<bool>* stop_ = nullptr;
  log::RateLimitedLog client_log_{5};
  uint64_t pending_bytes_ = 0;
  uint64_t pending_ = 0;     // produced, no delivery report yet (own count: no lock to read)
  int64_t progress_ms_ = 0;  // steady clock: the last poll that served delivery reports,
                             // or the first output after none was pending
  std::vector<streams_header> headers_;  // a refused output's, reused
};

// `type: kafka` (the default): key `stream_name` (required), the topic,
// unless the sink's steps_config sets `topic`.
const config::SinkType& kafka_sink_type();

// The producer of the source's dead-letter queue (`dlq` in its steps_config).
std::unique_ptr<pipeline::OutputSink> create_dlq_sink(const config::SinkContext& c,
                                                      std::string* error);

}  // namespace streams::sinks
