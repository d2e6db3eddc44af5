#include "pipeline/partition_processor.h"

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/log.h"
#include "pipeline/error_policy.h"
#include "pipeline/generation_diff.h"

namespace streams::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

// A delivery token names a tracker (never reused) and a slot in it.
uint64_t make_token(uint32_t tracker_id, uint32_t slot) {
  return (static_cast<uint64_t>(tracker_id) << 32) | slot;
}

}  // namespace

PartitionProcessor::PartitionProcessor(std::shared_ptr<const Generation> g, SinkSet& sinks,
                                       LimitedErrors& errors, metrics::PipelineMetrics& metrics,
                                       Options options)
    : g_(std::move(g)),
      sinks_(sinks),
      errors_(errors),
      metrics_(metrics),
      m_(metrics.runtime()),
      options_(options),
      topic_(options_.topic.empty() ? g_->source_topic() : options_.topic),
      topic_name_(crash::intern(topic_)) {
  adopt_bounds();
}

void PartitionProcessor::adopt_bounds() {
  stateful_ = false;
  for (const StepBinding& step : g_->steps) stateful_ = stateful_ || step.spec->state;
  const config::StepDeployment& source = g_->source_settings();
  max_in_flight_messages_ = source.max_in_flight_messages;
  max_in_flight_bytes_ = source.max_in_flight_bytes;
}

// Chains first: their batches and windows release holds into the trackers.
PartitionProcessor::~PartitionProcessor() { revoke_all(); }

bool PartitionProcessor::assign(int32_t number, std::string* error) {
  if (number < 0) return true;
  auto p = std::make_unique<Partition>();
  p->number = number;
  p->tracker_id = static_cast<uint32_t>(trackers_.size());
  tracker_partitions_.push_back(number);
  trackers_.push_back(
      std::make_unique<OffsetTracker>(g_->source_settings().max_in_flight_messages));
  if (!open_state(*p, *g_, error)) return false;
  p->chain = Chain::create(g_, sinks_.outputs(), errors_, metrics_, error, this, p->state.get());
  if (!p->chain) return false;
  load_quarantine(*p);
  if (static_cast<size_t>(number) >= partitions_.size()) partitions_.resize(number + 1);
  partitions_[number] = std::move(p);
  return true;
}

bool PartitionProcessor::open_state(Partition& p, const Generation& g, std::string* error) {
  if (p.state) return true;
  bool stateful = false;
  for (const StepBinding& step : g.steps) stateful = stateful || step.spec->state;
  if (!stateful) return true;
  if (!options_.state) {
    *error = "the pipeline has stateful steps, but this runtime was given no state store";
    return false;
  }
  bool corrupt = false;
  std::unique_ptr<state::Store> store = options_.state->open(p.number, error, &corrupt);
  if (!store && corrupt && options_.changelog) {  // the changelog holds its state
    std::string moved_to;
    if (!options_.state->set_aside(p.number, &moved_to, error)) return false;
    log::warn("state: " + *error + "; set aside as " + moved_to +
              ", its state is restored from the changelog");
    error->clear();
    store = options_.state->open(p.number, error);
  }
  if (!store || !(p.state = state::PartitionState::open(std::move(store), error))) return false;
  p.state->set_changelog(options_.changelog, p.number);
  p.state->set_flush_interval(options_.state_flush_ms);
  const int64_t at = p.state->opened_at().offset;
  if (at >= 0) {
    log::info("state: partition " + std::to_string(p.number) + " opened with its " +
              options_.state->name() + " store's checkpoint at offset " + std::to_string(at));
  }
  return true;
}

bool PartitionProcessor::prepare(Partition& p, int64_t offset, std::string* why) {
  if (!p.state || offset < 0) return true;
  std::string error;
  if (p.state->prepare(offset, &error)) return true;
  *why = "partition " + std::to_string(p.number) + ": " + error;
  return false;
}

int64_t PartitionProcessor::durable(Partition& p, int64_t committable, std::string* why) {
  if (!p.state || committable < 0) return committable;
  std::string error;
  const int64_t durable = p.state->durable(committable, &error);
  if (!error.empty()) *why = "partition " + std::to_string(p.number) + ": " + error;
  return error.empty() ? durable : -1;
}

bool PartitionProcessor::checkpoint(Partition& p, int64_t offset, std::string* why) {
  if (!p.state || offset < 0) return true;
  std::string error;
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
          .count();
  if (p.state->checkpoint(offset, now_ms, &error)) return true;
  *why = "partition " + std::to_string(p.number) + ": " + error;
  return false;
}

// The partition's first input since it was assigned: its state resolves
// here, unless it did at the committed offset, which this input should be.
bool PartitionProcessor::first_input(Partition& p, int64_t offset, std::string* why) {
  p.state->set_seen_input();
  if (!p.state->resolved()) return resolve(p, offset, why);
  if (p.start_at < 0 && p.state->checkpointed() == 0 && offset > 0) {
    return checkpoint(p, offset, why);  // nothing was committed: no input is before it
  }
  if (p.state->checkpointed() != offset) {
    log::warn("state of partition " + std::to_string(p.number) + ": resolved at offset " +
              std::to_string(p.state->checkpointed()) + ", the committed one, but reading " +
              "resumes at " + std::to_string(offset) + " (an offset reset?): the inputs between " +
              "are " + (offset < p.state->checkpointed() ? "counted twice" : "missing") +
              " in its state");
  }
  return true;
}

bool PartitionProcessor::resolve(Partition& p, int64_t first, std::string* why) {
  if (!p.state || p.state->resolved()) return true;
  std::string error;
  if (p.state->resolve(first, &error)) return true;
  *why = "state of partition " + std::to_string(p.number) + ": " + error;
  return false;
}

StateAnswer PartitionProcessor::query(const StateQuery& q) {
  using nlohmann::json;
  Partition* p = find(q.partition);
  if (!p) {
    return {404,
            json{{"error",
                  "partition " + std::to_string(q.partition) + " is not assigned to this host"}}
                .dump(),
            /*elsewhere=*/true};
  }
  state::Table* table = p->state ? p->state->find(q.step) : nullptr;
  if (!table) {
    return {404, json{{"error", "step '" + q.step + "' keeps no state here"}}.dump()};
  }
  if (p->restoring) {
    return {503, json{{"error", "partition " + std::to_string(q.partition) +
                                    " is restoring its state from the changelog"}}
                     .dump()};
  }
  if (!p->state->resolved()) {
    return {503, json{{"error", "partition " + std::to_string(q.partition) +
                                    " has not resolved its state yet (it does at its first "
                                    "input)"}}
                     .dump()};
  }
  return read_state(*table, q, json{{"step", q.step}, {"partition", q.partition}});
}

bool PartitionProcessor::checkpoint_committable(std::string* why) {
  for (auto& p : partitions_) {
    if (!p) continue;
    if (!prepare(*p, processed_end(*p), why)) return false;
    const int64_t at = durable(*p, committable(*p), why);
    if (!why->empty() || !checkpoint(*p, at, why)) return false;
  }
  return true;
}

int64_t PartitionProcessor::processed_end(const Partition& p) const {
  const int64_t last = trackers_[p.tracker_id]->last_begun();
  return last >= 0 ? last + 1 : p.start_at;
}

void PartitionProcessor::revoke(int32_t number) {
  Partition* p = find(number);
  if (!p) return;
  if (p->paused) --paused_;
  std::string error;
  if (p->state && p->state->resolved() && !p->state->flush(&error)) {
    log::warn("state of partition " + std::to_string(number) + ": " + error +
              " (its changelog holds the changes; the next assignment restores them)");
  }
  auto& t = trackers_[p->tracker_id];
  if (t->in_flight() == 0) t.reset();  // else late reports still find it
  partitions_[number].reset();
}

void PartitionProcessor::revoke_all() {
  for (size_t i = 0; i < partitions_.size(); ++i) revoke(static_cast<int32_t>(i));
}

void PartitionProcessor::load_quarantine(Partition& p) {
  if (!options_.crash_journal) return;
  p.quarantine =
      options_.crash_journal->quarantined(topic_, p.number, g_->source_settings().crash_limit);
  const std::string partition = topic_ + "[" + std::to_string(p.number) + "]";
  for (Quarantine& q : p.quarantine) {
    if (options_.explain_quarantine) {
      q.message +=
          "; to go past it, set the source's error_policy to skip-and-count, give it a "
          "dlq, or commit offset " +
          std::to_string(q.offset + 1) + " of " + partition + " for group " + g_->consumer_group();
    }
    log::warn("quarantine: " + partition + "@" + std::to_string(q.offset) + " is not run through " +
              (q.step.empty() ? std::string("the pipeline") : "step '" + q.step + "'") + ": " +
              q.message);
  }
}

// Offsets arrive in order (a resume reads again from the input not taken).
const Quarantine* PartitionProcessor::quarantine_at(Partition& p, int64_t offset) {
  while (p.next_quarantine < p.quarantine.size() &&
         p.quarantine[p.next_quarantine].offset < offset) {
    ++p.next_quarantine;
  }
  if (p.next_quarantine == p.quarantine.size()) return nullptr;
  const Quarantine& q = p.quarantine[p.next_quarantine];
  return q.offset == offset ? &q : nullptr;
}

Taken PartitionProcessor::process(const SourceRecord& in, std::string* why) {
  Partition* p = find(in.partition);
  // Fetched before a revoke or the pause, or while restoring.
  if (!p || p->paused || p->restoring) {
    if (p && p->restoring && p->ignored_from < 0) {
      p->ignored_from = in.offset;
      return Taken::restoring;
    }
    return Taken::ignored;
  }
  if (const char* full = held_ ? "paused by the operator" : backpressure(*p, 1.0)) {
    p->paused = true;
    p->resume_at = in.offset;
    ++paused_;
    if (!held_) m_.pauses.add();
    *why = full;
    return Taken::paused;
  }
  if (p->state && !p->state->seen_input() && !first_input(*p, in.offset, why)) {
    return Taken::fatal;
  }
  const uint64_t bytes = in.record.value.size + in.record.key.size;
  m_.consumed.add();
  m_.consumed_bytes.add(bytes);
  OffsetTracker& t = *trackers_[p->tracker_id];
  const uint32_t slot = t.begin(in.offset, bytes, in.record.timestamp_ms);
  const Quarantine* quarantine =
      p->next_quarantine < p->quarantine.size() ? quarantine_at(*p, in.offset) : nullptr;
  if (in.header_error) {  // never handed on as a record without headers
    bad_headers_ = {in.offset, "",
                    std::string("the record's header block cannot be parsed: ") + in.header_error,
                    STREAMS_ERR_INVALID_INPUT};
    quarantine = &bad_headers_;
  }
  const streams_origin origin{sizeof(streams_origin), topic_name_, in.partition, in.offset};
  // On a stop the slot stays held: nothing at or after this offset is committed.
  // One input in 64 is timed (two clock reads) for the process_seconds histogram.
  const bool timed = (++inputs_ & 63) == 0;
  const auto started = timed ? Clock::now() : Clock::time_point{};
  const ChainResult result =
      p->chain->process(in.record, origin, make_token(p->tracker_id, slot), quarantine);
  if (timed) {
    m_.process_seconds.observe(std::chrono::duration<double>(Clock::now() - started).count());
  }
  if (result == ChainResult::fatal) {
    *why = "pipeline stopped at " + origin_text(origin);
    return Taken::fatal;
  }
  std::string limit;
  if (!errors_.end_input(&limit)) {
    *why = "too many failed records: " + limit + "; stopped at " + origin_text(origin) +
           " (not committed)";
    return Taken::fatal;
  }
  t.release(slot);
  return Taken::processed;
}

const char* PartitionProcessor::inputs_over(const Partition& p, double share) const {
  const OffsetTracker& t = *trackers_[p.tracker_id];
  if (t.full() || t.in_flight() >= share * max_in_flight_messages_) {
    return "max_in_flight_messages inputs of the partition are not yet committable";
  }
  if (t.in_flight_bytes() >= share * max_in_flight_bytes_) {
    return "max_in_flight_bytes of the partition's inputs are not yet committable";
  }
  return nullptr;
}

const char* PartitionProcessor::backpressure(const Partition& p, double share) {
  if (const char* inputs = inputs_over(p, share)) return inputs;
  return sinks_.over_bounds(share);
}

bool PartitionProcessor::over(const Partition& p, double share) const {
  return inputs_over(p, share) != nullptr || sinks_.over(share);
}

bool PartitionProcessor::every_partition_over(double share) const {
  bool any = false;
  for (const auto& p : partitions_) {
    if (!p || p->paused || p->restoring) continue;
    const OffsetTracker& t = *trackers_[p->tracker_id];
    if (!t.full() && t.in_flight() < share * max_in_flight_messages_ &&
        t.in_flight_bytes() < share * max_in_flight_bytes_) {
      return false;
    }
    any = true;
  }
  return any;
}

void PartitionProcessor::take_resumable(std::vector<PartitionOffset>* out) {
  if (paused_ == 0 || held_) return;
  for (auto& p : partitions_) {
    if (!p || !p->paused || over(*p, 0.5)) continue;
    p->paused = false;
    --paused_;
    out->push_back({p->number, p->resume_at, nullptr});
  }
}

bool PartitionProcessor::begin_idle(Partition& p, HeldInput* idle) {
  if (!p.state || p.restoring || !p.state->resolved()) return false;
  OffsetTracker& t = *trackers_[p.tracker_id];
  const int64_t next = t.last_begun() >= 0 ? t.last_begun() + 1 : p.start_at;
  if (next < 0 || t.full()) return false;
  idle->token = make_token(p.tracker_id, t.begin_barrier(next));
  idle->origin = {sizeof(streams_origin), topic_name_, p.number, next};
  p.state->stamp_between(next);
  return true;
}

template <class F>
auto PartitionProcessor::between_inputs(Partition& p, F&& body) {
  HeldInput idle;
  const bool between = begin_idle(p, &idle);
  auto result = body(between ? &idle : nullptr);
  if (between) trackers_[p.tracker_id]->release(static_cast<uint32_t>(idle.token));
  return result;
}

bool PartitionProcessor::tick(int64_t now_ms, std::string* why) {
  for (auto& p : partitions_) {
    if (!p || p->restoring) continue;
    const bool ok = between_inputs(*p, [&](const HeldInput* idle) {
      std::string error;
      if (p->state && p->state->purge_expired(now_ms, kPurgeEveryMs, &error) < 0) {
        *why = "state of partition " + std::to_string(p->number) + ": " + error;
        return false;
      }
      if (p->chain->tick(now_ms, idle) == ChainResult::fatal) {
        *why = "pipeline stopped on partition " + std::to_string(p->number);
        return false;
      }
      return true;
    });
    if (!ok) return false;
  }
  return true;
}

bool PartitionProcessor::finish(std::string* why) {
  for (auto& p : partitions_) {
    if (!p) continue;
    const ChainResult result =
        between_inputs(*p, [&](const HeldInput* idle) { return p->chain->finish(idle); });
    if (result == ChainResult::fatal) {
      *why = "pipeline stopped on partition " + std::to_string(p->number) + " at the end of input";
      return false;
    }
  }
  return true;
}

// Creates every partition's successor first, so a failure changes nothing;
// then each takes over from its predecessor. Outputs already written stay
// tracked by the partition's OffsetTracker, whatever Chain wrote them.
SwapOutcome PartitionProcessor::switch_to(std::shared_ptr<const Generation> next,
                                          SwapMailbox& mailbox, std::string* fatal) {
  const auto started = Clock::now();
  SwapOutcome outcome;
  for (const StepBinding& step : next->steps) {
    if (step.spec->state && options_.changelog && options_.changelog->index_of(step.name) < 0) {
      outcome.error = "step '" + step.name +
                      "' would keep state, but it has no changelog topic (they are set up at "
                      "start): restart the host to add a stateful step";
      return outcome;
    }
  }
  std::vector<std::unique_ptr<Chain>> successors(partitions_.size());
  for (size_t i = 0; i < partitions_.size(); ++i) {
    if (!partitions_[i]) continue;
    std::string error;
    const state::PartitionState* ps = partitions_[i]->state.get();
    if (ps && !options_.allow_dropped_state) {
      const std::vector<std::string> dropped = dropped_state(ps->stored_steps(), *next);
      if (!dropped.empty()) {
        outcome.error = dropped_state_error(
            dropped, "the state store of partition " + std::to_string(i) +
                         (options_.state->where().empty() ? "" : " in " + options_.state->where()));
        return outcome;
      }
    }
    if (!open_state(*partitions_[i], *next, &error)) {
      outcome.error = "partition " + std::to_string(i) + ": " + error;
      return outcome;
    }
    successors[i] =
        Chain::create_successor(next, *partitions_[i]->chain, &error, partitions_[i]->state.get());
    if (!successors[i]) {
      outcome.error = "partition " + std::to_string(i) + ": " + error;
      return outcome;
    }
  }
  if (!mailbox.may_switch(&outcome.error)) return outcome;
  for (size_t i = 0; i < partitions_.size(); ++i) {
    Partition* p = partitions_[i].get();
    if (!p) continue;
    const ChainResult result = between_inputs(
        *p, [&](const HeldInput* idle) { return successors[i]->take_over(*p->chain, idle); });
    if (result == ChainResult::fatal && fatal->empty()) {
      *fatal =
          "pipeline stopped on partition " + std::to_string(i) + " while switching generations";
    }
    const int64_t last = trackers_[p->tracker_id]->last_begun();
    outcome.switch_points.emplace_back(p->number, p->paused  ? p->resume_at
                                                  : last < 0 ? -1
                                                             : last + 1);
    p->chain = std::move(successors[i]);
  }
  g_ = std::move(next);  // the controller holds the old one: it unloads on its thread
  adopt_bounds();
  outcome.ok = true;
  outcome.switch_us =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
  outcome.took_effect_ms = wall_ms();
  return outcome;
}

void PartitionProcessor::hold(uint64_t token) {
  if (OffsetTracker* t = tracker(token)) t->hold(static_cast<uint32_t>(token));
}

void PartitionProcessor::release(uint64_t token) {
  if (OffsetTracker* t = tracker(token)) t->release(static_cast<uint32_t>(token));
}

bool PartitionProcessor::input_of(uint64_t token, int32_t* partition, int64_t* offset) const {
  const OffsetTracker* t = tracker(token);
  if (!t) return false;
  *partition = tracker_partitions_[token >> 32];
  *offset = t->offset(static_cast<uint32_t>(token));
  return true;
}

void PartitionProcessor::publish_state_sizes() {
  struct Sum {
    uint64_t keys = 0, bytes = 0;
  };
  std::map<metrics::StepMetrics*, Sum> sums;
  for (const auto& p : partitions_) {
    if (!p || !p->state || p->restoring) continue;
    for (uint32_t i = 0; i < g_->steps.size(); ++i) {
      const StepBinding& step = g_->steps[i];
      uint64_t keys = 0, bytes = 0;
      if (!step.spec->state || !p->state->size(step.name, &keys, &bytes)) continue;
      Sum& sum = sums[&p->chain->step_metrics(i)];
      sum.keys += keys;
      sum.bytes += bytes;
    }
  }
  for (auto& [m, sum] : sums) {
    m->stateful.set(1);
    m->state_keys.set(sum.keys);
    m->state_bytes.set(sum.bytes);
  }
}

PartitionProcessor::Gauges PartitionProcessor::gauges() const {
  Gauges out;
  for (const auto& p : partitions_) {
    if (!p) continue;
    ++out.assigned;
    out.in_flight += trackers_[p->tracker_id]->in_flight();
    out.in_flight_bytes += trackers_[p->tracker_id]->in_flight_bytes();
  }
  return out;
}

std::vector<metrics::PartitionStatus> PartitionProcessor::status() const {
  std::vector<metrics::PartitionStatus> out;
  for (const auto& p : partitions_) {
    if (!p) continue;
    metrics::PartitionStatus s;
    s.partition = p->number;
    s.position = processed_end(*p);
    s.committed = p->commit.confirmed;
    const OffsetTracker& t = *trackers_[p->tracker_id];
    s.in_flight = t.in_flight();
    s.paused = p->paused;
    s.restoring = p->restoring;
    s.drained = held_ && !p->restoring && s.in_flight == 0 &&
                (t.last_begun() < 0 || p->commit.confirmed > t.last_begun());
    out.push_back(s);
  }
  return out;
}

}  // namespace streams::pipeline
