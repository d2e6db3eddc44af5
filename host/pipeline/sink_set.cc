#include "pipeline/sink_set.h"

#include "common/clock.h"

namespace streams::pipeline {

bool SinkSet::create(const Generation& g, SinkMaker& maker, SinkListener& listener,
                     std::string* error) {
  for (size_t i = 0; i < g.sinks.size(); ++i) {
    std::unique_ptr<OutputSink> sink = maker.make(g, i, listener, error);
    if (!sink) return false;
    const config::StepDeployment& d = g.sink_settings(i);
    const uint64_t messages = d.max_in_flight_messages_with(sink->default_max_in_flight_messages());
    bounds_.push_back({sink.get(), messages, d.max_in_flight_bytes});
    names_ += (i ? ", " : "") + sink->describe();
    outputs_.push_back(sink.get());
    owned_.push_back(std::move(sink));
  }
  if (g.source_settings().dlq.topic.empty()) return true;
  error->clear();
  dlq_ = maker.make_dlq(g, listener, error);
  if (!dlq_) return error->empty();
  const config::StepDeployment defaults;
  bounds_.push_back({dlq_.get(), defaults.max_in_flight_messages, defaults.max_in_flight_bytes});
  return true;
}

// The DLQ last: the sinks' outputs may still be reported to it.
void SinkSet::close() {
  bounds_.clear();
  outputs_.clear();
  owned_.clear();
  dlq_.reset();
}

int SinkSet::index_of(const OutputSink& sink) const {
  for (size_t i = 0; i < outputs_.size(); ++i) {
    if (outputs_[i] == &sink) return static_cast<int>(i);
  }
  return -1;
}

void SinkSet::poll(int timeout_ms) {
  const OutputSink* waiter = nullptr;
  if (timeout_ms > 0) {
    for (const Bounds& b : bounds_) {
      if (b.sink->awaiting()) {
        waiter = b.sink;
        break;
      }
    }
    for (size_t i = 0; !waiter && i < bounds_.size(); ++i) {
      if (bounds_[i].sink->pending() > 0) waiter = bounds_[i].sink;
    }
  }
  for (const Bounds& b : bounds_) b.sink->poll(b.sink == waiter ? timeout_ms : 0);
}

bool SinkSet::awaiting() const {
  for (const Bounds& b : bounds_) {
    if (b.sink->awaiting()) return true;
  }
  return false;
}

bool SinkSet::sends_wait_for_reports() const {
  for (const Bounds& b : bounds_) {
    if (b.sink->sends_wait_for_reports()) return true;
  }
  return false;
}

bool SinkSet::flush() {
  bool ok = true;
  for (const Bounds& b : bounds_) ok = b.sink->flush() && ok;
  return ok;
}

void SinkSet::seal() {
  for (const Bounds& b : bounds_) b.sink->seal();
}

void SinkSet::seal_partition(int32_t partition) {
  for (const Bounds& b : bounds_) b.sink->seal_partition(partition);
}

bool SinkSet::drain(int64_t deadline_ms) {
  seal();
  for (;;) {
    if (pending() == 0) return true;
    if (steady_ms() >= deadline_ms) return false;
    poll(10);
  }
}

bool SinkSet::reopen() {
  bool ok = true;
  for (const Bounds& b : bounds_) ok = b.sink->reopen() && ok;
  return ok;
}

void SinkSet::partitions_changed(const int32_t* partitions, size_t count, bool assigned) {
  for (const Bounds& b : bounds_) b.sink->partitions_changed(partitions, count, assigned);
}

void SinkSet::set_stop_flag(const std::atomic<bool>* stop) {
  for (const Bounds& b : bounds_) b.sink->set_stop_flag(stop);
}

const SinkSet::Bounds* SinkSet::first_over(double share) const {
  for (const Bounds& b : bounds_) {
    if (b.sink->pending() >= share * b.max_messages ||
        b.sink->pending_bytes() >= share * b.max_bytes) {
      return &b;
    }
  }
  return nullptr;
}

const char* SinkSet::over_bounds(double share) {
  const Bounds* b = first_over(share);
  if (!b) return nullptr;
  reason_ = "sink " + b->sink->describe() + " has " + std::to_string(b->sink->pending()) +
            " outputs (" + std::to_string(b->sink->pending_bytes()) +
            " bytes) unacknowledged, at its max_in_flight bound";
  return reason_.c_str();
}

uint64_t SinkSet::pending() const {
  uint64_t n = 0;
  for (const Bounds& b : bounds_) n += b.sink->pending();
  return n;
}

const OutputSink* SinkSet::longest_wait(int64_t now_ms, int64_t* wait_ms) const {
  const OutputSink* waiting = nullptr;
  *wait_ms = 0;
  for (const Bounds& b : bounds_) {
    const int64_t w = b.sink->waiting_ms(now_ms);
    if (w > *wait_ms) {
      *wait_ms = w;
      waiting = b.sink;
    }
  }
  return waiting;
}

}  // namespace streams::pipeline
