// A scripted source and acknowledging sinks for unit tests of the runtime's
// loop with no broker. The source runs one scripted step per poll() on the
// runtime's thread, and asks the runtime to stop when the script is done;
// sinks acknowledge only when a step tells them to, in any order.
#pragma once

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "pipeline/sink_set.h"
#include "pipeline/source.h"

namespace streams::testing {

struct Commit {
  int32_t partition;
  int64_t offset;
  bool sync;
  bool operator==(const Commit& o) const {
    return partition == o.partition && offset == o.offset && sync == o.sync;
  }
};

inline std::ostream& operator<<(std::ostream& os, const Commit& c) {
  return os << c.partition << "@" << c.offset << (c.sync ? " sync" : " async");
}

class FakeSource final : public pipeline::Source {
 public:
  using Step = std::function<void(pipeline::SourceHandler&)>;

  // The runtime's stop flag: set when the script has run out.
  explicit FakeSource(std::atomic<bool>& stop) : stop_(stop) {}

  // Appends a step, run by one poll().
  FakeSource& then(Step step) {
    script_.push_back(std::move(step));
    return *this;
  }
  // Steps that the group does, as librdkafka would report them.
  FakeSource& assign(std::vector<int32_t> partitions) {
    return then([this, partitions](pipeline::SourceHandler& h) {
      h.on_assigned(partitions.data(), partitions.size());
      for (int32_t p : partitions) assigned.insert(p);
    });
  }
  FakeSource& revoke(std::vector<int32_t> partitions, bool lost) {
    return then(
        [this, partitions, lost](pipeline::SourceHandler& h) { take(h, partitions, lost); });
  }
  // Records `values` of `partition` from offset `first` on, in one poll.
  FakeSource& records(int32_t partition, int64_t first, std::vector<std::string> values) {
    return then([partition, first, values](pipeline::SourceHandler& h) {
      for (size_t i = 0; i < values.size(); ++i) send(h, partition, first + i, values[i]);
    });
  }
  // Keyed records {partition, key, value} (offsets from `first` on, per
  // partition), in one poll, with the hints the Kafka source gives when the
  // handler wants them: hint_soon two records ahead, hint_next one ahead.
  struct Keyed {
    int32_t partition;
    std::string key, value;
  };
  FakeSource& hinted(int64_t first, std::vector<Keyed> records) {
    return then([first, records](pipeline::SourceHandler& h) {
      const bool hints = h.wants_hints();
      auto soon = [&](size_t i) {
        return hints && i < records.size() ? h.hint_soon(records[i].partition, records[i].key)
                                           : uint64_t{0};
      };
      uint64_t ahead[2] = {soon(0), soon(1)};
      std::map<int32_t, int64_t> next;
      for (size_t i = 0; i < records.size(); ++i) {
        if (hints && i + 1 < records.size())
          h.hint_next(records[i + 1].partition, ahead[(i + 1) & 1]);
        if (i + 2 < records.size()) ahead[i & 1] = soon(i + 2);
        const Keyed& r = records[i];
        auto at = next.emplace(r.partition, first).first;
        send(h, r.partition, at->second++, r.value, r.key);
      }
    });
  }
  static void send(pipeline::SourceHandler& h, int32_t partition, int64_t offset,
                   const std::string& value, const std::string& key = "") {
    pipeline::SourceRecord r;
    r.partition = partition;
    r.offset = offset;
    r.record.struct_size = sizeof(r.record);
    r.record.key = {reinterpret_cast<const uint8_t*>(key.data()), key.size()};
    r.record.value = {reinterpret_cast<const uint8_t*>(value.data()), value.size()};
    r.record.timestamp_ms = 1000 + offset;
    h.on_record(r);
  }

  bool subscribe(pipeline::SourceHandler& handler, std::string*) override {
    handler_ = &handler;
    return true;
  }
  void poll(int wait_ms) override {
    ++polls;
    last_wait_ms = wait_ms;
    if (!pending_results_.empty()) {
      std::vector<pipeline::PartitionOffset> results;
      results.swap(pending_results_);
      handler_->on_commit_result(results.data(), results.size());
    }
    if (script_.empty()) {
      stop_.store(true);
      return;
    }
    Step step = std::move(script_.front());
    script_.pop_front();
    step(*handler_);
  }
  void pause(int32_t partition) override { paused.insert(partition); }
  void resume(int32_t partition, int64_t offset) override {
    paused.erase(partition);
    resumes.push_back({partition, offset});
  }
  bool commit(const pipeline::PartitionOffset* offsets, size_t count, bool sync,
              std::string*) override {
    for (size_t i = 0; i < count; ++i) {
      commits.push_back({offsets[i].partition, offsets[i].offset, sync});
      if (!sync && !hold_results)
        pending_results_.push_back({offsets[i].partition, offsets[i].offset, nullptr});
    }
    return true;
  }
  // As librdkafka: leaving the group revokes what is assigned.
  bool close(int64_t) override {
    closed = true;
    take(*handler_, std::vector<int32_t>(assigned.begin(), assigned.end()), false);
    return true;
  }
  void wake() override {}
  const std::string& topic() const override { return topic_; }

  std::set<int32_t> assigned, paused;
  std::vector<std::pair<int32_t, int64_t>> resumes;  // partition, offset to fetch from
  std::vector<Commit> commits;
  bool closed = false;
  bool hold_results = false;  // asynchronous commits stay out (no result)
  size_t polls = 0;
  int last_wait_ms = -1;  // the current (or last) poll's

 private:
  void take(pipeline::SourceHandler& h, const std::vector<int32_t>& partitions, bool lost) {
    h.on_revoked(partitions.data(), partitions.size(), lost);
    for (int32_t p : partitions) assigned.erase(p);
  }

  std::atomic<bool>& stop_;
  std::deque<Step> script_;
  pipeline::SourceHandler* handler_ = nullptr;
  std::vector<pipeline::PartitionOffset> pending_results_;
  std::string topic_ = "input";
};

// Takes outputs and acknowledges them when told to.
class AckingSink final : public pipeline::OutputSink {
 public:
  AckingSink(pipeline::SinkListener& listener, uint64_t own_bound)
      : listener_(listener), own_bound_(own_bound) {}
  pipeline::WriteResult write(const streams_record& r, uint64_t token, const streams_origin*,
                              std::string*) override {
    values.emplace_back(reinterpret_cast<const char*>(r.value.data), r.value.size);
    tokens.push_back(token);
    acked.push_back(false);
    listener_.on_written(token);
    return pipeline::WriteResult::ok;
  }
  // Acknowledges output `i` (in write order).
  void ack(size_t i) {
    acked.at(i) = true;
    listener_.on_acknowledged(*this, tokens.at(i));
  }
  uint64_t pending() const override {
    return static_cast<uint64_t>(std::count(acked.begin(), acked.end(), false));
  }
  // Runs on_poll, when set, at each poll that may wait (timeout_ms > 0).
  void poll(int timeout_ms) override {
    if (timeout_ms > 0 && on_poll) on_poll();
  }
  std::function<void()> on_poll;
  void seal() override { ++seals; }
  void seal_partition(int32_t partition) override { sealed_partitions.push_back(partition); }
  // held_back: its outputs wait to fill a batch, none is with a store.
  bool awaiting() const override { return !held_back && pending() > 0; }
  // batched: as a plugin sink, its next outputs wait for its reports.
  bool sends_wait_for_reports() const override { return batched && awaiting(); }
  std::string describe() const override { return "acking"; }
  uint64_t default_max_in_flight_messages() const override { return own_bound_; }

  std::vector<std::string> values;
  std::vector<uint64_t> tokens;
  std::vector<bool> acked;
  size_t seals = 0;
  std::vector<int32_t> sealed_partitions;
  bool held_back = false;
  bool batched = false;

 private:
  pipeline::SinkListener& listener_;
  const uint64_t own_bound_;
};

class AckingSinkMaker final : public pipeline::SinkMaker {
 public:
  std::unique_ptr<pipeline::OutputSink> make(const pipeline::Generation&, size_t,
                                             pipeline::SinkListener& listener,
                                             std::string*) override {
    auto sink = std::make_unique<AckingSink>(listener, own_bound);
    sinks.push_back(sink.get());
    return sink;
  }
  std::unique_ptr<pipeline::OutputSink> make_dlq(const pipeline::Generation&,
                                                 pipeline::SinkListener& listener,
                                                 std::string*) override {
    auto sink = std::make_unique<AckingSink>(listener, 0);
    dlq = sink.get();
    return sink;
  }
  uint64_t own_bound = 0;          // the sinks' default_max_in_flight_messages
  std::vector<AckingSink*> sinks;  // owned by the runtime
  AckingSink* dlq = nullptr;
};

}  // namespace streams::testing
