// The host side of plugin sinks (sinks/plugin/plugin_sink.h) against a fake
// store written with the SDK's streams::sink<T>: batching, one batch of a
// partition out at a time (or several, for a store whose writes commute),
// retries, halving refused batches, partitions.
#define BOOST_TEST_MODULE plugin_sink
#include <boost/test/unit_test.hpp>

#include <streams/plugin.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "metrics/metrics.h"
#include "sinks/plugin/plugin_sink.h"

using namespace streams;

namespace {

enum Decision { kWritten = STREAMS_SINK_WRITTEN, kRetry, kRejected, kHold, kThrow, kRetryAfter };

struct SeenBatch {
  uint64_t id;
  int32_t partition;
  uint32_t attempt;
  int64_t first, last;
  int64_t at_ms;  // steady clock
  std::vector<int64_t> offsets;
  std::vector<uint32_t> sequences;
  std::vector<std::string> values;
};

// What the fake store does, set by each test.
struct Script {
  std::function<Decision(const SeenBatch&)> decide = [](const SeenBatch&) { return kWritten; };
  std::vector<SeenBatch> seen;
  std::vector<uint64_t> held;        // reported written by the next poll
  std::vector<uint64_t> retry_held;  // ...but these once for a retry
  // Views the store kept of held batches' values, read when it reports them.
  std::vector<std::vector<std::string_view>> kept;
  std::vector<std::string> read_when_reported;
  bool all_views_kept = true;  // every batch said views_until_report
  std::vector<std::string> events;
  bool poll_throws = false;
  bool poll_reports = true;  // false: poll returns at once, held batches stay out
  int polls = 0;
  int64_t retry_after_ms = 0;  // kRetryAfter's
};
Script* script = nullptr;

class FakeStore {
 public:
  static constexpr SinkGuarantee guarantee = SinkGuarantee::idempotent;
  void write(const SinkBatch& b, SinkReports& reports) {
    SeenBatch s{
        b.id(), b.partition(), b.attempt(), b.first_offset(), b.last_offset(), steady_ms(), {}, {},
        {}};
    for (size_t i = 0; i < b.size(); ++i) {
      s.offsets.push_back(b.offset(i));
      s.sequences.push_back(b.sequence(i));
      s.values.emplace_back(b[i].value());
    }
    script->seen.push_back(s);
    script->all_views_kept = script->all_views_kept && b.views_until_report();
    switch (script->decide(s)) {
      case kWritten:
        reports.written(b.id());
        break;
      case kRetry:
        reports.retry(b.id(), "store busy");
        break;
      case kRejected:
        reports.rejected(b.id(), "violates check constraint");
        break;
      case kHold:
        script->held.push_back(b.id());
        script->kept.emplace_back();
        for (size_t i = 0; i < b.size(); ++i) script->kept.back().push_back(b[i].value());
        break;
      case kThrow:
        throw std::runtime_error("connection reset");
      case kRetryAfter:
        reports.retry_after(b.id(), script->retry_after_ms, "HTTP 429, Retry-After");
        break;
    }
  }
  void poll(int, SinkReports& reports) {
    if (script->poll_throws) throw std::runtime_error("poll broke");
    ++script->polls;
    if (!script->poll_reports) return;
    for (const auto& views : script->kept) {
      for (std::string_view v : views) script->read_when_reported.emplace_back(v);
    }
    script->kept.clear();
    for (uint64_t id : script->held) {
      auto again = std::find(script->retry_held.begin(), script->retry_held.end(), id);
      if (again == script->retry_held.end()) {
        reports.written(id);
      } else {
        script->retry_held.erase(again);
        reports.retry(id, "timed out");
      }
    }
    script->held.clear();
  }
  void flush(SinkReports&) { script->events.push_back("flush"); }
  void assigned(std::string_view topic, int32_t p, SinkReports&) {
    script->events.push_back("assigned " + std::string(topic) + "/" + std::to_string(p));
  }
  void revoked(std::string_view topic, int32_t p, SinkReports&) {
    script->events.push_back("revoked " + std::string(topic) + "/" + std::to_string(p));
  }
};

const streams_function kFake = streams::sink<FakeStore>("fake");

// A store whose writes commute (ABI 1.10): three batches of a partition out.
class CommutingStore : public FakeStore {
 public:
  static constexpr uint32_t batches_out = 3;
};
const streams_function kCommuting = streams::sink<CommutingStore>("commuting");

struct Listener final : pipeline::SinkListener {
  std::vector<uint64_t> written, acked, rejected;
  std::vector<std::string> reasons;
  std::string failed;
  void on_written(uint64_t token) override { written.push_back(token); }
  void on_acknowledged(pipeline::OutputSink&, uint64_t token) override { acked.push_back(token); }
  void on_rejected(pipeline::OutputSink&, uint64_t token, const streams_record& r,
                   const char* reason) override {
    rejected.push_back(token);
    reasons.push_back(std::string(reinterpret_cast<const char*>(r.value.data), r.value.size) +
                      ": " + reason);
  }
  void on_failed(pipeline::OutputSink&, const char* reason) override { failed = reason; }
};

struct Fixture {
  Script s;
  Listener listener;
  metrics::StepMetrics m;
  sinks::PluginSinkLimits limits;
  std::unique_ptr<sinks::PluginSink> sink;
  std::string value;  // the record's, kept for the write

  Fixture() {
    script = &s;
    limits.batch_size = 3;
    limits.batch_time_ms = 60000;
    limits.retry_backoff_ms = 1;
    limits.retry_backoff_max_ms = 1;
  }
  ~Fixture() { script = nullptr; }
  void open(const streams_function& fn = kFake) {
    std::string error;
    sink = sinks::PluginSink::create(fn, "rows", "plugin fake", "{}", limits, listener, &m, &error);
    BOOST_REQUIRE_MESSAGE(sink, error);
  }
  pipeline::WriteResult write(int32_t partition, int64_t offset, const std::string& v,
                              uint64_t token) {
    value = v;
    streams_record r{};
    r.struct_size = sizeof(r);
    r.value = {reinterpret_cast<const uint8_t*>(value.data()), value.size()};
    r.timestamp_ms = 1;
    const streams_origin origin{sizeof(streams_origin), "in", partition, offset};
    std::string reason;
    return sink->write(r, token, &origin, &reason);
  }
  // Polls until `done` or a 5 s deadline.
  bool poll_until(const std::function<bool()>& done) {
    const int64_t deadline = steady_ms() + 5000;
    while (!done()) {
      if (steady_ms() > deadline) return false;
      sink->poll(1);
    }
    return true;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(batches_fill_by_count_and_seal_sends_the_rest, Fixture) {
  open();
  for (int64_t i = 0; i < 7; ++i) {
    BOOST_TEST(int(write(0, i, "v" + std::to_string(i), 100 + i)) ==
               int(pipeline::WriteResult::ok));
  }
  BOOST_TEST_REQUIRE(s.seen.size() == 2u);
  BOOST_TEST(s.seen[0].first == 0);
  BOOST_TEST(s.seen[0].last == 2);
  BOOST_TEST(s.seen[1].values == (std::vector<std::string>{"v3", "v4", "v5"}));
  BOOST_TEST(listener.written.size() == 7u);
  BOOST_TEST(listener.acked == (std::vector<uint64_t>{100, 101, 102, 103, 104, 105}));
  BOOST_TEST(sink->pending() == 1u);
  sink->seal();
  BOOST_TEST_REQUIRE(s.seen.size() == 3u);
  BOOST_TEST(s.seen[2].offsets == (std::vector<int64_t>{6}));
  BOOST_TEST(sink->pending() == 0u);
  BOOST_TEST(m.sink_rows.value() == 7u);
  BOOST_TEST(m.plugin_sink.value() == 1u);
  BOOST_TEST(s.events == (std::vector<std::string>{"assigned in/0", "flush"}));
}

BOOST_FIXTURE_TEST_CASE(an_unfilled_batch_goes_after_batch_time_ms, Fixture) {
  limits.batch_time_ms = 20;
  open();
  write(0, 0, "a", 1);
  sink->poll(0);
  BOOST_TEST(s.seen.empty());
  BOOST_TEST(poll_until([&] { return listener.acked.size() == 1; }));
}

BOOST_FIXTURE_TEST_CASE(one_batch_of_a_partition_is_out_at_a_time, Fixture) {
  s.decide = [](const SeenBatch&) { return kHold; };
  open();
  for (int64_t i = 0; i < 6; ++i) write(0, i, "p0", i);
  for (int64_t i = 0; i < 3; ++i) write(1, i, "p1", 10 + i);
  // Partition 0's first batch is out; the full ones wait for the next
  // input or a turn of the loop.
  BOOST_TEST_REQUIRE(s.seen.size() == 1u);
  BOOST_TEST(s.seen[0].partition == 0);
  BOOST_TEST(listener.acked.empty());
  sink->poll(0);  // sends partition 1's, reports both, then sends partition 0's second
  BOOST_TEST(s.seen[1].partition == 1);
  BOOST_TEST_REQUIRE(s.seen.size() == 3u);
  BOOST_TEST(s.seen[2].offsets == (std::vector<int64_t>{3, 4, 5}));
  BOOST_TEST(listener.acked.size() == 6u);
  sink->poll(0);
  BOOST_TEST(listener.acked.size() == 9u);
  BOOST_TEST(sink->pending() == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_sink_whose_writes_commute_has_several_batches_of_a_partition_out,
                        Fixture) {
  s.decide = [](const SeenBatch&) { return kHold; };
  open(kCommuting);
  for (int64_t i = 0; i < 13; ++i) write(0, i, "v", i);  // four full batches, the fifth open
  BOOST_TEST_REQUIRE(s.seen.size() == 3u);               // batches_out
  BOOST_TEST(s.seen[2].offsets == (std::vector<int64_t>{6, 7, 8}));
  BOOST_TEST(sink->awaiting());
  sink->poll(0);  // reports the three, sends the fourth
  BOOST_TEST(listener.acked.size() == 9u);
  BOOST_TEST_REQUIRE(s.seen.size() == 4u);
  BOOST_TEST(s.seen[3].first == 9);
  sink->poll(0);
  BOOST_TEST(sink->pending() == 1u);
}

// With several out, batches complete in any order: a retried one is written
// after later ones of its partition, and its inputs commit then.
BOOST_FIXTURE_TEST_CASE(a_retried_batch_may_be_written_after_later_ones_out_with_it, Fixture) {
  s.decide = [](const SeenBatch&) { return kHold; };
  open(kCommuting);
  for (int64_t i = 0; i < 10; ++i) write(0, i, "v", i);
  BOOST_TEST_REQUIRE(s.seen.size() == 3u);
  s.retry_held = {s.seen[0].id};
  sink->poll(0);
  BOOST_TEST(listener.acked == (std::vector<uint64_t>{3, 4, 5, 6, 7, 8}));
  BOOST_TEST(sink->pending() == 4u);  // the retried batch and the open one
  BOOST_TEST(poll_until([&] { return listener.acked.size() == 9; }));
  BOOST_TEST(listener.acked[6] == 0u);
  BOOST_TEST(s.seen.back().id == s.seen[0].id);
  BOOST_TEST(s.seen.back().attempt == 1u);
  BOOST_TEST(m.sink_retries.value() == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_revoked_partition_keeps_its_batches_out_until_reported, Fixture) {
  s.decide = [](const SeenBatch&) { return kHold; };
  open(kCommuting);
  const int32_t p0 = 0;
  sink->partitions_changed(&p0, 1, true);
  for (int64_t i = 0; i < 14; ++i) write(0, i, "v", i);
  BOOST_TEST(s.seen.size() == 3u);
  sink->partitions_changed(&p0, 1, false);
  BOOST_TEST(sink->pending() == 9u);  // the three out; the queued and the open one dropped
  sink->poll(0);
  BOOST_TEST(sink->pending() == 0u);
  BOOST_TEST(listener.acked.size() == 9u);
  BOOST_TEST(s.seen.size() == 3u);
}

BOOST_FIXTURE_TEST_CASE(a_retried_batch_is_sent_again_whole_and_nothing_after_it, Fixture) {
  s.decide = [](const SeenBatch& b) { return b.attempt == 0 && b.first == 0 ? kRetry : kWritten; };
  limits.retry_backoff_ms = limits.retry_backoff_max_ms = 30;
  open();
  for (int64_t i = 0; i < 6; ++i) write(0, i, "v" + std::to_string(i), i);
  BOOST_TEST(s.seen.size() == 1u);  // the second waits behind the retry
  BOOST_TEST(listener.acked.empty());
  BOOST_TEST(sink->waiting_ms(steady_ms() + 1000) >= 1000);
  BOOST_TEST(poll_until([&] { return listener.acked.size() == 6; }));
  BOOST_TEST_REQUIRE(s.seen.size() == 3u);
  BOOST_TEST(s.seen[1].attempt == 1u);
  BOOST_TEST(s.seen[1].id == s.seen[0].id);
  BOOST_TEST(s.seen[1].values == s.seen[0].values);
  BOOST_TEST(s.seen[2].first == 3);
  BOOST_TEST(listener.acked == (std::vector<uint64_t>{0, 1, 2, 3, 4, 5}));
  BOOST_TEST(m.sink_retries.value() == 1u);
}

// ABI 1.13: the store said when; the host waits that, not its backoff
// (1 ms here), and counts the retry.
BOOST_FIXTURE_TEST_CASE(a_retry_after_waits_the_delay_the_store_asked_for, Fixture) {
  s.decide = [](const SeenBatch& b) { return b.attempt == 0 ? kRetryAfter : kWritten; };
  s.retry_after_ms = 300;
  open();
  for (int64_t i = 0; i < 3; ++i) write(0, i, "v", i);
  BOOST_TEST(poll_until([&] { return listener.acked.size() == 3; }));
  BOOST_TEST_REQUIRE(s.seen.size() == 2u);
  BOOST_TEST(s.seen[1].id == s.seen[0].id);
  BOOST_TEST(s.seen[1].at_ms - s.seen[0].at_ms >= 300);
  BOOST_TEST(m.sink_retries.value() == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_negative_retry_after_is_no_wait, Fixture) {
  s.decide = [](const SeenBatch& b) { return b.attempt == 0 ? kRetryAfter : kWritten; };
  s.retry_after_ms = -5000;
  limits.retry_backoff_ms = limits.retry_backoff_max_ms = 60000;  // not this
  open();
  for (int64_t i = 0; i < 3; ++i) write(0, i, "v", i);
  BOOST_TEST(poll_until([&] { return listener.acked.size() == 3; }));
  BOOST_TEST(s.seen.size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(an_exception_from_write_is_a_retry, Fixture) {
  s.decide = [](const SeenBatch& b) { return b.attempt == 0 ? kThrow : kWritten; };
  limits.batch_size = 1;
  open();
  write(0, 0, "a", 1);
  BOOST_TEST(poll_until([&] { return listener.acked.size() == 1; }));
  BOOST_TEST(listener.failed.empty());
}

BOOST_FIXTURE_TEST_CASE(a_refused_batch_is_halved_until_the_bad_record_is_alone, Fixture) {
  limits.batch_size = 5;
  s.decide = [](const SeenBatch& b) {
    for (const auto& v : b.values) {
      if (v == "bad") return kRejected;
    }
    return kWritten;
  };
  open();
  const char* values[] = {"a", "b", "c", "bad", "e"};
  for (int64_t i = 0; i < 5; ++i) write(0, i, values[i], i);
  write(0, 5, "f", 5);  // seals the full batch
  BOOST_TEST(listener.rejected == (std::vector<uint64_t>{3}));
  BOOST_TEST_REQUIRE(listener.reasons.size() == 1u);
  BOOST_TEST(listener.reasons[0].find("bad: sink 'rows'") == 0u, listener.reasons[0]);
  BOOST_TEST(listener.reasons[0].find("violates check constraint") != std::string::npos);
  BOOST_TEST(listener.acked == (std::vector<uint64_t>{0, 1, 2, 4}));
  BOOST_TEST(sink->pending() == 1u);  // "f", in the open batch
  BOOST_TEST(m.sink_rejected.value() == 1u);
  BOOST_TEST(m.sink_rows.value() == 4u);
}

BOOST_FIXTURE_TEST_CASE(sequences_number_the_outputs_of_one_input, Fixture) {
  limits.batch_size = 4;
  open();
  write(0, 5, "x", 1);
  write(0, 5, "y", 1);
  write(0, 5, "z", 1);
  write(0, 6, "w", 2);
  write(0, 7, "v", 3);  // seals the full batch
  BOOST_TEST_REQUIRE(s.seen.size() == 1u);
  BOOST_TEST(s.seen[0].sequences == (std::vector<uint32_t>{0, 1, 2, 0}));
  BOOST_TEST(s.seen[0].offsets == (std::vector<int64_t>{5, 5, 5, 6}));
}

BOOST_FIXTURE_TEST_CASE(a_batch_holds_every_output_of_its_inputs, Fixture) {
  limits.batch_size = 2;
  open();
  for (const char* v : {"a", "b", "c"}) write(0, 1, v, 1);  // one input's three outputs
  BOOST_TEST(s.seen.empty());                               // full, but the input may have more
  write(0, 2, "d", 2);
  BOOST_TEST_REQUIRE(s.seen.size() == 1u);
  BOOST_TEST(s.seen[0].values == (std::vector<std::string>{"a", "b", "c"}));
  sink->seal();
  BOOST_TEST_REQUIRE(s.seen.size() == 2u);
  BOOST_TEST(s.seen[1].values == (std::vector<std::string>{"d"}));
}

BOOST_FIXTURE_TEST_CASE(a_refused_batch_is_halved_at_an_input_boundary, Fixture) {
  limits.batch_size = 6;
  s.decide = [](const SeenBatch& b) { return b.values.size() > 2 ? kRejected : kWritten; };
  open();
  write(0, 1, "a", 1);
  for (const char* v : {"b", "c", "d"}) write(0, 2, v, 2);
  for (const char* v : {"e", "f"}) write(0, 3, v, 3);
  sink->seal();
  // 6 records: halved at offset 2|3 (nearest the middle), then 1|2.
  BOOST_TEST_REQUIRE(s.seen.size() >= 3u);
  BOOST_TEST(s.seen[1].values == (std::vector<std::string>{"a", "b", "c", "d"}));
  BOOST_TEST(s.seen[2].values == (std::vector<std::string>{"a"}));
}

BOOST_FIXTURE_TEST_CASE(a_revoked_partition_drops_what_was_not_sent, Fixture) {
  s.decide = [](const SeenBatch&) { return kHold; };
  open();
  const int32_t p0 = 0;
  sink->partitions_changed(&p0, 1, true);
  for (int64_t i = 0; i < 7; ++i) write(0, i, "v", i);
  BOOST_TEST(sink->pending() == 7u);
  sink->partitions_changed(&p0, 1, false);
  BOOST_TEST(sink->pending() == 3u);  // the batch out waits for its report
  BOOST_TEST(s.events == (std::vector<std::string>{"assigned in/0", "revoked in/0"}));
  sink->poll(0);
  BOOST_TEST(sink->pending() == 0u);
  BOOST_TEST(s.seen.size() == 1u);
  sink->partitions_changed(&p0, 1, true);
  write(0, 3, "v", 3);
  sink->seal();
  BOOST_TEST(s.events.size() == 4u);  // assigned again before its next batch, then flush
  BOOST_TEST(s.events[2] == "assigned in/0");
}

// ABI 1.9: a sink may keep views of a batch's bytes until it reports it,
// while the host takes more records, opens batches and revokes partitions.
BOOST_FIXTURE_TEST_CASE(a_batch_out_keeps_its_bytes_until_reported, Fixture) {
  s.decide = [](const SeenBatch& b) { return b.partition == 0 ? kHold : kWritten; };
  open();
  const int32_t p0 = 0;
  sink->partitions_changed(&p0, 1, true);
  for (int64_t i = 0; i < 3; ++i) write(0, i, "first-" + std::to_string(i), i);
  write(0, 3, std::string(300, 'x'), 3);    // the full batch goes at the next input
  BOOST_TEST_REQUIRE(s.seen.size() == 1u);  // out, held
  for (int64_t i = 4; i < 9; ++i) write(0, i, std::string(300, 'x'), i);  // the next one grows
  for (int64_t i = 0; i < 30; ++i) write(1, i, std::string(200, 'y'), 100 + i);
  sink->partitions_changed(&p0, 1, false);  // the batch out stays until its report
  for (int64_t i = 0; i < 30; ++i) write(2, i, std::string(200, 'z'), 200 + i);  // reuses batches
  BOOST_TEST(s.all_views_kept);
  sink->poll(0);
  BOOST_TEST(s.read_when_reported == (std::vector<std::string>{"first-0", "first-1", "first-2"}));
  BOOST_TEST(listener.acked.size() == 3u + 30u + 30u);
}

// The runtime seals a paused partition's outputs: no input of it comes to
// fill its batch until acknowledgements do.
BOOST_FIXTURE_TEST_CASE(seal_partition_sends_that_partitions_open_batch_only, Fixture) {
  open();
  write(0, 0, "p0", 1);
  write(1, 0, "p1", 2);
  sink->seal_partition(7);  // none of its outputs here
  sink->seal_partition(0);
  BOOST_TEST_REQUIRE(s.seen.size() == 1u);
  BOOST_TEST(s.seen[0].partition == 0);
  BOOST_TEST(listener.acked == (std::vector<uint64_t>{1}));
  BOOST_TEST(s.events.back() == "flush");
  BOOST_TEST(sink->pending() == 1u);
}

// A store with nothing out reports nothing and returns from poll at once:
// the host waits the time itself, or a loop waiting on sinks would spin
// until the batch's time (the source held) or a retry's backoff.
BOOST_FIXTURE_TEST_CASE(a_poll_with_nothing_out_waits_its_time, Fixture) {
  open();
  write(0, 0, "open", 1);
  const int64_t start = steady_ms();
  for (int i = 0; i < 5; ++i) sink->poll(10);
  BOOST_TEST(steady_ms() - start >= 45);
  BOOST_TEST(s.polls == 5);
  BOOST_TEST(s.seen.empty());
}

// With a batch out, a plugin's poll may return before its time to be called
// again (it drives its own I/O, like libcurl's multi interface): the host
// adds no wait of its own then.
BOOST_FIXTURE_TEST_CASE(a_poll_with_a_batch_out_is_the_plugins_to_wait, Fixture) {
  s.decide = [](const SeenBatch&) { return kHold; };
  s.poll_reports = false;
  open();
  for (int64_t i = 0; i < 3; ++i) write(0, i, "v", i);
  write(0, 3, "v", 3);  // sends the full batch
  BOOST_TEST_REQUIRE(s.seen.size() == 1u);
  const int64_t start = steady_ms();
  for (int i = 0; i < 20; ++i) sink->poll(50);
  BOOST_TEST(s.polls == 20);
  BOOST_TEST(steady_ms() - start < 500);  // 20 host waits would be 1,000 ms
  BOOST_TEST(listener.acked.empty());
}

BOOST_FIXTURE_TEST_CASE(a_sink_that_breaks_stops_the_runtime, Fixture) {
  s.poll_throws = true;
  open();
  write(0, 0, "a", 1);
  sink->poll(0);
  BOOST_TEST(listener.failed.find("poll_sink returned STREAMS_FATAL") != std::string::npos,
             listener.failed);
  BOOST_TEST(int(write(0, 1, "b", 2)) == int(pipeline::WriteResult::stop));
}

BOOST_AUTO_TEST_CASE(the_sdk_declares_what_the_class_has) {
  BOOST_TEST(kFake.kind == STREAMS_KIND_SINK);
  BOOST_TEST(kFake.sink_guarantee == uint32_t(STREAMS_SINK_IDEMPOTENT));
  BOOST_TEST(kFake.sink_batches_out == 1u);
  BOOST_TEST(kCommuting.sink_batches_out == 3u);
  BOOST_TEST(kFake.flush_sink != nullptr);
  BOOST_TEST(kFake.sink_partition != nullptr);
  BOOST_TEST(kFake.process == nullptr);
}
