// The sink contract (data plane): where a chain's outputs go, and how a sink
// that acknowledges outputs later (a producer, a database client) tells the
// runtime. Nothing here names a broker or a store.
//
// Commit model: an output a sink took (write() returned ok) holds its input
// uncommitted until the sink acknowledges it through its SinkListener, or,
// for sinks that never call the listener (files, devnull), until flush()
// returned true.
//
// Thread: every call on the processing thread that owns the sink; listener
// calls come from inside write(), poll() and flush() on that thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <streams/plugin_abi.h>

namespace streams::pipeline {

// What a sink did with an output.
enum class WriteResult {
  ok,        // taken
  rejected,  // this record can never be written (e.g. too large): a record error
  stop,      // a failure that must stop the pipeline (already reported)
};

class OutputSink;

// Told by an acknowledging sink what became of each output it took.
class SinkListener {
 public:
  virtual ~SinkListener() = default;
  // The sink took the output tagged `token` and will acknowledge it.
  virtual void on_written(uint64_t token) = 0;
  // The output tagged `token` is stored for good.
  virtual void on_acknowledged(OutputSink& sink, uint64_t token) = 0;
  // The store refused this one output for good (too large, invalid): a
  // record error. `output` and `reason` are valid during the call only.
  virtual void on_rejected(OutputSink& sink, uint64_t token, const streams_record& output,
                           const char* reason) = 0;
  // The sink cannot deliver, now or later, as configured: the pipeline stops
  // with the inputs uncommitted. `reason` is valid during the call only.
  virtual void on_failed(OutputSink& sink, const char* reason) = 0;
};

// Where a chain's outputs go. `record`, `origin` and what they point to are
// valid only during write(); the sink copies what it keeps.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  // Takes one output derived from the input identified by `token`, read
  // from `origin` (null when unknown). On `rejected`, *reason says why.
  virtual WriteResult write(const streams_record& record, uint64_t token,
                            const streams_origin* origin, std::string* reason) = 0;
  // Makes what write() took so far safe to commit past, for sinks that do
  // not acknowledge (files). False on failure (reported).
  virtual bool flush() { return true; }
  // Serves acknowledgements, waiting up to `timeout_ms` for one.
  virtual void poll(int timeout_ms) { (void)timeout_ms; }
  // Sends what it holds back to fill a batch: the runtime is about to wait
  // for acknowledgements and takes no input meanwhile (a revocation, a stop,
  // the source held at a bound).
  virtual void seal() {}
  // The same for the outputs of source partition `partition` only: it is
  // paused until acknowledgements bring it below its bound.
  virtual void seal_partition(int32_t partition) { (void)partition; }
  // Source partitions assigned to (`assigned`) or revoked from this
  // runtime; revoked ones after their outputs were drained (or the drain
  // gave up).
  virtual void partitions_changed(const int32_t* partitions, size_t count, bool assigned) {
    (void)partitions;
    (void)count;
    (void)assigned;
  }
  // Outputs taken and not yet acknowledged, and their bytes of key and value.
  virtual uint64_t pending() const { return 0; }
  // Some of them are with the store, so an acknowledgement may come while
  // the runtime waits in poll() (not so for outputs a plugin sink still
  // holds back to fill a batch or to retry after a backoff).
  virtual bool awaiting() const { return pending() > 0; }
  // Outputs wait to be sent until a write out is reported (a plugin sink's
  // partition with as many batches out as its function allows): the
  // runtime then polls the sink soon rather than after a long wait on its
  // source. A Kafka sink's delivery reports hold nothing back.
  virtual bool sends_wait_for_reports() const { return false; }
  virtual uint64_t pending_bytes() const { return 0; }
  // The bound on pending() when the deployment sets no
  // max_in_flight_messages for the sink; 0: the deployment's default.
  virtual uint64_t default_max_in_flight_messages() const { return 0; }
  // How long outputs have waited without any acknowledgement (ms; 0 when
  // none is pending): a store that cannot take them shows here.
  virtual int64_t waiting_ms(int64_t now_ms) const {
    (void)now_ms;
    return 0;
  }
  // For the warning when outputs wait long: how many wait, for what and
  // why they may ("3 output(s) without a delivery report for 10 s (brokers
  // down, or the topic missing?)").
  virtual std::string describe_wait(int64_t wait_ms) const {
    return std::to_string(pending()) + " output(s) unacknowledged for " +
           std::to_string(wait_ms / 1000) + " s (the store slow or unreachable?)";
  }
  // Closes and opens its files again (after log rotation); false on failure
  // (reported, sticky).
  virtual bool reopen() { return true; }
  // `stop` (owned by the caller, outliving the sink) ends waits for room.
  virtual void set_stop_flag(const std::atomic<bool>* stop) { (void)stop; }
  // For log lines and bounds: a topic, "file PATH", "devnull".
  virtual std::string describe() const = 0;
};

}  // namespace streams::pipeline
