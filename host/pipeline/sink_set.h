// A runtime's sinks (data plane): one per Generation::sinks entry and the
// dead-letter queue's, created through a SinkMaker, then polled, flushed,
// drained and held to their max_in_flight bounds together.
//
// Lifetime: created before the partitions' Chains (which point at the
// sinks) and destroyed after them. A reload keeps the set: a sink change
// restarts the runtime.
// Thread: the processing thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pipeline/generation.h"
#include "pipeline/sink.h"

namespace streams::pipeline {

// Creates the sinks of a runtime (control plane, before it runs).
class SinkMaker {
 public:
  virtual ~SinkMaker() = default;
  // The sink for g.sinks[index]; acknowledging sinks report to `listener`,
  // which outlives them. Null with *error on failure.
  virtual std::unique_ptr<OutputSink> make(const Generation& g, size_t index,
                                           SinkListener& listener, std::string* error) = 0;
  // The source's dead-letter queue (g.source_settings().dlq). Null with
  // *error on failure; null with *error empty: the runtime writes no dead
  // letters (a local run applies the error policy instead).
  virtual std::unique_ptr<OutputSink> make_dlq(const Generation& g, SinkListener& listener,
                                               std::string* error) = 0;
};

class SinkSet {
 public:
  // Creates every sink of `g`, and the DLQ's when the source has one.
  // False with *error on failure.
  bool create(const Generation& g, SinkMaker& maker, SinkListener& listener, std::string* error);
  ~SinkSet() { close(); }
  // Destroys the sinks (the DLQ last); nothing may write to them after.
  void close();

  // By Generation::sinks index, for Chains.
  const std::vector<OutputSink*>& outputs() const { return outputs_; }
  OutputSink* dlq() const { return dlq_.get(); }
  // The Generation::sinks index `sink` serves; -1 for the DLQ. Stable
  // across reloads (a sink change restarts the runtime), so the caller looks
  // the step up in the generation running now.
  int index_of(const OutputSink& sink) const;

  // Serves acknowledgements, waiting up to `timeout_ms` on the first sink
  // awaiting any (OutputSink::awaiting), else on the first with outputs
  // pending (a plugin sink waits for its batch's time or a retry then).
  void poll(int timeout_ms);
  // Some sink is awaiting an acknowledgement (OutputSink::awaiting).
  bool awaiting() const;
  // Some sink's sends wait for its reports (OutputSink::sends_wait_for_reports).
  bool sends_wait_for_reports() const;
  // Flushes every sink; false if one failed (reported).
  bool flush();
  // Seals every sink's open batches (OutputSink::seal), or those of one
  // source partition: no input comes until acknowledgements do.
  void seal();
  void seal_partition(int32_t partition);
  // Seals every sink's open batches, then serves acknowledgements until
  // none is pending, or `deadline_ms` (steady clock) passed: false then.
  bool drain(int64_t deadline_ms);
  bool reopen();
  // Tells every sink (OutputSink::partitions_changed).
  void partitions_changed(const int32_t* partitions, size_t count, bool assigned);
  void set_stop_flag(const std::atomic<bool>* stop);

  // Some sink is at `share` of its max_in_flight bounds (1 to pause, 0.5 to
  // resume below half). Allocates nothing: the loop asks while held.
  bool over(double share) const { return first_over(share) != nullptr; }
  // Why no more input should be taken (as over()), or null. Valid until the
  // next call.
  const char* over_bounds(double share);
  // Outputs not yet acknowledged, over every sink.
  uint64_t pending() const;
  // The sink that has waited longest without an acknowledgement, and how long.
  const OutputSink* longest_wait(int64_t now_ms, int64_t* wait_ms) const;
  // "TOPIC, file PATH, devnull" in Generation::sinks order.
  const std::string& names() const { return names_; }

 private:
  struct Bounds {
    OutputSink* sink;
    uint64_t max_messages;
    uint64_t max_bytes;
  };
  const Bounds* first_over(double share) const;
  std::string names_;
  std::vector<std::unique_ptr<OutputSink>> owned_;  // by Generation::sinks index
  std::vector<OutputSink*> outputs_;                // the same
  std::unique_ptr<OutputSink> dlq_;                 // null: no DLQ
  std::vector<Bounds> bounds_;                      // every sink, then the DLQ
  std::string reason_;
};

}  // namespace streams::pipeline
