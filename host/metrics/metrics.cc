#include "metrics/metrics.h"

#include <streams/plugin_abi.h>

#include <algorithm>

namespace streams::metrics {

StepMetrics& PipelineMetrics::step(const std::string& name, const std::string& kind,
                                   std::vector<std::string> next, const std::string& plugin,
                                   const std::string& version) {
  std::lock_guard<std::mutex> lock(mutex_);
  StepMetrics* found = nullptr;
  for (const auto& s : steps_) {
    if (s->name == name) found = s.get();
  }
  if (!found) {
    steps_.push_back(std::make_unique<StepMetrics>());
    found = steps_.back().get();
    found->name = name;
  }
  found->kind = kind;
  found->next = std::move(next);
  found->plugin = plugin;
  found->version = version;
  return *found;
}

void PipelineMetrics::set_current_steps(std::vector<std::string> names) {
  std::lock_guard<std::mutex> lock(mutex_);
  current_steps_ = std::move(names);
  current_set_ = true;
}

bool PipelineMetrics::current(const std::string& step) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !current_set_ ||
         std::find(current_steps_.begin(), current_steps_.end(), step) != current_steps_.end();
}

void PipelineMetrics::set_client_stats(const std::string& client, const char* json, size_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  client_stats_[client].assign(json, size);
}

std::vector<std::pair<std::string, std::string>> PipelineMetrics::client_stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {client_stats_.begin(), client_stats_.end()};
}

StepMetrics* PipelineMetrics::find(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& s : steps_) {
    if (s->name == name) return s.get();
  }
  return nullptr;
}

void Histogram::add(const Histogram& other) {
  for (size_t i = 0; i < buckets_.size() && i < other.buckets_.size(); ++i) {
    buckets_[i].add(other.buckets_[i].value());
  }
  sum_.store(sum() + other.sum(), std::memory_order_relaxed);
}

PipelineMetrics& PipelineMetrics::shard(size_t index) {
  std::lock_guard<std::mutex> lock(mutex_);
  while (shards_.size() < index) shards_.push_back(std::make_unique<PipelineMetrics>(pipeline_));
  return *shards_[index - 1];
}

bool PipelineMetrics::sharded() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !shards_.empty();
}

namespace {

// The oldest of two clocks, 0 (not started) when either is.
uint64_t oldest(uint64_t a, uint64_t b) { return a == 0 || b == 0 ? 0 : std::min(a, b); }

void add_step(const StepMetrics& from, StepMetrics& into) {
  into.records_in.add(from.records_in.value());
  into.written.add(from.written.value());
  into.batch_records.add(from.batch_records);
  into.batch_age_seconds.add(from.batch_age_seconds);
  for (size_t k = 0; k < kErrorKindCount; ++k) into.errors[k].add(from.errors[k].value());
  into.stateful.set(std::max(into.stateful.value(), from.stateful.value()));
  into.state_keys.add(from.state_keys.value());
  into.state_bytes.add(from.state_bytes.value());
  into.plugin_sink.set(std::max(into.plugin_sink.value(), from.plugin_sink.value()));
  into.sink_rows.add(from.sink_rows.value());
  into.sink_bytes.add(from.sink_bytes.value());
  into.sink_batch_records.add(from.sink_batch_records);
  into.sink_write_seconds.add(from.sink_write_seconds);
  into.sink_retries.add(from.sink_retries.value());
  into.sink_rejected.add(from.sink_rejected.value());
}

// Adds `from` into `into` (a reader's copy): counts and gauges summed; the
// loop and commit-check clocks the oldest (0 if either is 0: not started),
// joined only when both are;
// the last commit and the delivery wait the latest. `into` starts as the
// first part's copy of the clocks.
void add_runtime(const RuntimeMetrics& from, RuntimeMetrics& into) {
  Counter RuntimeMetrics::*const summed[] = {&RuntimeMetrics::consumed,
                                             &RuntimeMetrics::consumed_bytes,
                                             &RuntimeMetrics::produced,
                                             &RuntimeMetrics::delivered,
                                             &RuntimeMetrics::dead_letters,
                                             &RuntimeMetrics::skipped,
                                             &RuntimeMetrics::commits,
                                             &RuntimeMetrics::pauses,
                                             &RuntimeMetrics::holds,
                                             &RuntimeMetrics::paused_partitions,
                                             &RuntimeMetrics::assigned_partitions,
                                             &RuntimeMetrics::in_flight,
                                             &RuntimeMetrics::in_flight_bytes,
                                             &RuntimeMetrics::unacknowledged,
                                             &RuntimeMetrics::restoring_partitions,
                                             &RuntimeMetrics::restore_records,
                                             &RuntimeMetrics::restore_bytes,
                                             &RuntimeMetrics::restore_remaining,
                                             &RuntimeMetrics::restore_ms};
  for (Counter RuntimeMetrics::*c : summed) (into.*c).add((from.*c).value());
  into.last_commit_ms.set(std::max(into.last_commit_ms.value(), from.last_commit_ms.value()));
  if (from.commit_latency_at_ms.value() != 0) {  // the threads' largest
    into.commit_latency_ms.set(
        std::max(into.commit_latency_ms.value(), from.commit_latency_ms.value()));
    into.commit_latency_at_ms.set(
        std::max(into.commit_latency_at_ms.value(), from.commit_latency_at_ms.value()));
  }
  into.delivery_wait_ms.set(std::max(into.delivery_wait_ms.value(), from.delivery_wait_ms.value()));
  into.process_seconds.add(from.process_seconds);
  into.group_joined.set(std::min(into.group_joined.value(), from.group_joined.value()));
  into.topic_unavailable.set(
      std::max(into.topic_unavailable.value(), from.topic_unavailable.value()));
  into.loop_ms.set(oldest(into.loop_ms.value(), from.loop_ms.value()));
  into.commit_checked_ms.set(
      oldest(into.commit_checked_ms.value(), from.commit_checked_ms.value()));
}

}  // namespace

std::unique_ptr<PipelineMetrics> PipelineMetrics::merged() const {
  auto out = std::make_unique<PipelineMetrics>(pipeline_);
  std::vector<const PipelineMetrics*> parts{this};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& s : shards_) parts.push_back(s.get());
    out->crashes = crashes;
    out->source_ = source_;
    out->current_steps_ = current_steps_;
    out->current_set_ = current_set_;
  }
  for (int i = 0; i < 3; ++i) out->reloads[i].set(reloads[i].value());
  out->generation.set(generation.value());
  out->ready.set(ready.value());
  out->not_ready_ms.set(not_ready_ms.value());
  out->paused_since_ms.set(paused_since_ms.value());
  RuntimeMetrics& r = out->runtime_;
  r.loop_ms.set(runtime_.loop_ms.value());
  r.commit_checked_ms.set(runtime_.commit_checked_ms.value());
  r.group_joined.set(runtime_.group_joined.value());  // then every thread's consumer joined
  r.topic_unavailable.set(runtime_.topic_unavailable.value());
  for (size_t i = 0; i < parts.size(); ++i) {
    const PipelineMetrics& part = *parts[i];
    add_runtime(part.runtime_, r);
    std::lock_guard<std::mutex> lock(part.mutex_);
    for (const auto& s : part.steps_) {
      StepMetrics* known = nullptr;
      for (const auto& o : out->steps_) known = o->name == s->name ? o.get() : known;
      if (!known) {
        out->steps_.push_back(std::make_unique<StepMetrics>());
        known = out->steps_.back().get();
        known->name = s->name;
        known->kind = s->kind;
        known->next = s->next;
        known->plugin = s->plugin;
        known->version = s->version;
      }
      add_step(*s, *known);
    }
    for (const auto& [client, text] : part.client_stats_) {
      out->client_stats_[i == 0 ? client : client + "#" + std::to_string(i)] = text;
    }
    // The longest wait's sink: the part whose wait the merged one is.
    if (!part.waiting_sink_.empty() &&
        part.runtime_.delivery_wait_ms.value() == r.delivery_wait_ms.value()) {
      out->waiting_sink_ = part.waiting_sink_;
    }
  }
  return out;
}

void PipelineMetrics::set_source(std::string topic, std::string consumer_group) {
  std::lock_guard<std::mutex> lock(mutex_);
  source_ = {std::move(topic), std::move(consumer_group)};
}

std::pair<std::string, std::string> PipelineMetrics::source() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return source_;
}

void PipelineMetrics::set_partitions(std::vector<PartitionStatus> partitions) {
  std::lock_guard<std::mutex> lock(mutex_);
  partitions_ = std::move(partitions);
}

std::vector<PartitionStatus> PipelineMetrics::partitions() const {
  std::vector<PartitionStatus> out;
  std::vector<const PipelineMetrics*> parts{this};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    out = partitions_;
    for (const auto& s : shards_) parts.push_back(s.get());
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    std::lock_guard<std::mutex> lock(parts[i]->mutex_);
    for (PartitionStatus p : parts[i]->partitions_) {
      p.thread = i + 1;
      out.push_back(p);
    }
  }
  std::sort(out.begin(), out.end(), [](const PartitionStatus& a, const PartitionStatus& b) {
    return a.partition < b.partition;
  });
  return out;
}

void PipelineMetrics::set_waiting_sink(std::string name) {
  std::lock_guard<std::mutex> lock(mutex_);
  waiting_sink_ = std::move(name);
}

std::string PipelineMetrics::waiting_sink() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiting_sink_;
}

size_t error_kind_index(int32_t kind) {
  switch (kind) {
    case STREAMS_ERR_INVALID_INPUT:
      return 0;
    case STREAMS_ERR_PROCESSING:
      return 1;
    case STREAMS_ERR_EXCEPTION:
      return 2;
    case STREAMS_ERR_CONTRACT:
      return 3;
    case 100:  // pipeline::kErrSinkRejected
      return 4;
    case 101:  // pipeline::kErrCrash
      return 5;
  }
  return 6;
}

}  // namespace streams::metrics
