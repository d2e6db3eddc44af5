// A sink whose writer is a plugin function (ABI 1.6, STREAMS_KIND_SINK):
// the host side of the sink contract (data plane). It batches a runtime's
// outputs per source partition, every output of an input in the same batch
// (a full batch is sealed when the next input's first output comes, or
// between inputs by time), hands the plugin one batch of a partition
// at a time (or up to the function's sink_batches_out, in source order),
// and turns the plugin's reports into the runtime's acknowledgements:
// written (the inputs may commit), retry (the same batch again after a
// backoff, or the delay the store asked for, before anything of that
// partition not yet sent), or rejected
// (halved until the refused records stand alone, which go to the error
// policy with the store's reason).
//
// Memory: the outputs taken and not yet reported are copied here, counted
// by pending()/pending_bytes(), so the runtime's max_in_flight bounds pause
// the source while a store is down.
// Thread: the processing thread; the plugin is called only from write(),
// poll(), seal() and partitions_changed(), and reports only from inside
// those calls (its reports are applied once its call returned).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <streams/plugin_abi.h>

#include "common/log.h"
#include "metrics/metrics.h"
#include "pipeline/sink.h"

namespace streams::sinks {

// How a plugin sink batches and retries (the sink step's keys).
struct PluginSinkLimits {
  uint32_t batch_size = 1000;      // records
  uint64_t batch_bytes = 1 << 20;  // key and value bytes
  int64_t batch_time_ms = 200;     // a batch's age when sent unfilled
  int64_t retry_backoff_ms = 100;  // the first retry's wait, doubled per retry
  int64_t retry_backoff_max_ms = 10000;
};

class PluginSink final : public pipeline::OutputSink {
 public:
  // Creates the function's instance with `config_json`. `fn` (a sink
  // function) and the library holding it outlive the sink; so do
  // `listener` and `metrics` (the sink step's). `name` is the sink step's.
  // Null with *error when the plugin refused the config.
  static std::unique_ptr<PluginSink> create(const streams_function& fn, std::string name,
                                            std::string describe, const std::string& config_json,
                                            const PluginSinkLimits& limits,
                                            pipeline::SinkListener& listener,
                                            metrics::StepMetrics* metrics, std::string* error);
  // Creates and destroys an instance with `config_json`, as loading a
  // pipeline does to prove the config: "" when it initialised, else the
  // plugin's reason.
  static std::string probe(const streams_function& fn, const std::string& config_json);
  ~PluginSink() override;

  pipeline::WriteResult write(const streams_record& record, uint64_t token,
                              const streams_origin* origin, std::string* reason) override;
  void poll(int timeout_ms) override;
  void seal() override;
  void seal_partition(int32_t partition) override;
  void partitions_changed(const int32_t* partitions, size_t count, bool assigned) override;
  uint64_t pending() const override { return pending_; }
  uint64_t pending_bytes() const override { return pending_bytes_; }
  bool awaiting() const override { return any_out(); }
  // Any batch out: a report lets the lane's next batch go (or, with
  // batches_out > 1, may).
  bool sends_wait_for_reports() const override { return any_out(); }
  // A store takes large writes best: room for a batch of each of many
  // partitions out and the next ones filling (max_in_flight_bytes still
  // bounds the memory).
  uint64_t default_max_in_flight_messages() const override { return kDefaultMaxInFlight; }
  static constexpr uint64_t kDefaultMaxInFlight = 500000;
  int64_t waiting_ms(int64_t now_ms) const override {
    return pending_ > 0 ? now_ms - progress_ms_ : 0;
  }
  // "NAME (plugin P/F, GUARANTEE)": the step, for logs and /readyz.
  std::string describe() const override { return name_ + " (" + describe_ + ")"; }

  // For the host API's sink_ack and sink_retry_after: records a report,
  // applied after the plugin's call returns; a retry waits `delay_ms` when
  // not negative, else the backoff. False for an unknown id or outcome.
  bool report(uint64_t batch_id, int32_t outcome, const char* reason, size_t reason_size,
              int64_t delay_ms = -1);
  // For the host API's log.
  void log_line(int32_t level, const char* message, size_t size) const;

 private:
  struct Item;
  struct HeaderRef;
  struct Batch;
  struct Lane;
  struct Report {
    uint64_t id;
    int32_t outcome;
    std::string reason;
    int64_t delay_ms;  // a retry's wait the store asked for; -1: the backoff
  };

  PluginSink(const streams_function& fn, std::string name, std::string describe,
             const PluginSinkLimits& limits, pipeline::SinkListener& listener,
             metrics::StepMetrics* metrics);
  Lane& lane(int32_t partition);
  std::unique_ptr<Batch> new_batch(int32_t partition);
  void append(Batch& b, const streams_record& record, uint64_t token, int64_t offset, uint32_t seq);
  // Moves `l`'s open batch to its queue.
  void seal(Lane& l);
  bool full(const Batch& b) const;
  // A batch of some partition is with the plugin, not yet reported.
  bool any_out() const;
  // Sends the front of `l`'s queue while fewer than batches_out_ of it are
  // out and its retry time came.
  void send_next(Lane& l, int64_t now_ms);
  void send(Lane& l, Batch& b, int64_t now_ms);
  // Where the batch `id` is out: its lane and index in Lane::out.
  bool find_out(uint64_t id, Lane** lane, size_t* at) const;
  // Runs `call` (a call into the plugin returning its status), then
  // applies the reports it made.
  template <class F>
  void call_plugin(const char* what, F&& call);
  void apply(const Report& r, int64_t now_ms);
  // Each takes a batch no longer out.
  void written(std::unique_ptr<Batch> b, int64_t now_ms);
  void retry(Lane& l, std::unique_ptr<Batch> b, const Report& r, int64_t now_ms);
  void rejected(Lane& l, std::unique_ptr<Batch> b, const std::string& reason);
  void fail(const std::string& reason);
  // The record `i` of `b` as the plugin saw it (views into `b`).
  streams_record view(const Batch& b, size_t i, std::vector<streams_header>* headers) const;

  const streams_function& fn_;
  std::string name_;
  std::string describe_;
  PluginSinkLimits limits_;
  size_t batches_out_ = 1;  // of a partition at once: the function's sink_batches_out
  pipeline::SinkListener& listener_;
  metrics::StepMetrics* metrics_;
  streams_host_api api_{};
  void* instance_ = nullptr;
  std::vector<std::unique_ptr<Lane>> lanes_;   // by source partition
  std::vector<std::unique_ptr<Batch>> spare_;  // batches to reuse
  std::vector<Report> reports_;                // made during the current call
  uint64_t reported_ = 0;                      // reports applied, ever
  bool in_call_ = false;
  bool failed_ = false;
  uint64_t next_id_ = 1;
  uint64_t pending_ = 0;
  uint64_t pending_bytes_ = 0;
  int64_t progress_ms_ = 0;
  log::RateLimitedLog retry_log_{1};
  // Reused by send(): the views of a batch.
  std::vector<streams_record> records_;
  std::vector<streams_header> headers_;
  std::vector<int64_t> offsets_;
  std::vector<uint32_t> sequences_;
};

}  // namespace streams::sinks
