// The devnull sink's simulated store (sinks/devnull/simulated_writes.h):
// batches closed by size or age, written one after another in the drawn
// time, acknowledged in order when their write ends; and the sink itself
// against a listener on the steady clock.
#define BOOST_TEST_MODULE devnull_sink
#include <boost/test/unit_test.hpp>

#include <vector>

#include "common/clock.h"
#include "pipeline/sink.h"
#include "sinks/devnull/devnull_sink.h"

using namespace streams;
using sinks::DevNullWrites;
using sinks::SimulatedWrites;

namespace {

// A sleep capped at half the average is always that half (the draw is 0.5x
// to 1.5x): the times below are exact.
DevNullWrites exact(int64_t batch_size, int64_t batch_time_ms, double sleep_ms) {
  DevNullWrites w;
  w.batch_size = batch_size;
  w.batch_time_ms = batch_time_ms;
  w.average_sleep_ms = 2 * sleep_ms;
  w.max_sleep_ms = sleep_ms;
  return w;
}

std::vector<uint64_t> advance(SimulatedWrites& writes, int64_t now_ms) {
  std::vector<uint64_t> done;
  writes.advance(now_ms, [&done](uint64_t token) { done.push_back(token); });
  return done;
}

struct Listener final : pipeline::SinkListener {
  std::vector<uint64_t> written, acknowledged;
  void on_written(uint64_t token) override { written.push_back(token); }
  void on_acknowledged(pipeline::OutputSink&, uint64_t token) override {
    acknowledged.push_back(token);
  }
  void on_rejected(pipeline::OutputSink&, uint64_t, const streams_record&, const char*) override {
    BOOST_FAIL("nothing is rejected");
  }
  void on_failed(pipeline::OutputSink&, const char*) override { BOOST_FAIL("nothing fails"); }
};

streams_record record(const char* value) {
  streams_record r{};
  r.struct_size = sizeof r;
  r.value = {reinterpret_cast<const uint8_t*>(value), std::char_traits<char>::length(value)};
  r.timestamp_ms = -1;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_full_batch_is_written_after_its_sleep) {
  SimulatedWrites writes(exact(2, 1000, 50), 1);
  writes.take(1, 10, 0);
  writes.take(2, 20, 0);
  writes.take(3, 30, 5);
  BOOST_TEST(writes.pending() == 3u);
  BOOST_TEST(writes.pending_bytes() == 60u);
  BOOST_TEST(writes.next_event_ms() == 50);
  BOOST_TEST(advance(writes, 49).empty());
  BOOST_TEST(advance(writes, 50) == (std::vector<uint64_t>{1, 2}));
  BOOST_TEST(writes.pending_bytes() == 30u);
  // The open batch closes by age (1000 ms after its first), then sleeps.
  BOOST_TEST(writes.next_event_ms() == 1005);
  BOOST_TEST(advance(writes, 1004).empty());
  BOOST_TEST(advance(writes, 1005).empty());
  BOOST_TEST(writes.next_event_ms() == 1055);
  BOOST_TEST(advance(writes, 1055) == std::vector<uint64_t>{3});
  BOOST_TEST(writes.pending() == 0u);
  BOOST_TEST(writes.next_event_ms() == SimulatedWrites::kNever);
}

BOOST_AUTO_TEST_CASE(batches_are_written_one_after_another) {
  SimulatedWrites writes(exact(1, 0, 50), 1);
  for (uint64_t token = 1; token <= 3; ++token) writes.take(token, 0, 0);
  BOOST_TEST(advance(writes, 99) == std::vector<uint64_t>{1});
  BOOST_TEST(advance(writes, 100) == std::vector<uint64_t>{2});
  BOOST_TEST(advance(writes, 1000) == std::vector<uint64_t>{3});
  // A batch closed after the store went idle starts at once.
  writes.take(4, 0, 2000);
  BOOST_TEST(writes.next_event_ms() == 2050);
}

BOOST_AUTO_TEST_CASE(close_seals_the_open_batch_and_the_age_defaults) {
  SimulatedWrites writes(exact(100, 0, 10), 1);
  writes.take(1, 0, 0);
  BOOST_TEST(writes.next_event_ms() == DevNullWrites::kDefaultBatchTimeMs);
  writes.close(3);
  BOOST_TEST(writes.next_event_ms() == 13);
  BOOST_TEST(advance(writes, 13) == std::vector<uint64_t>{1});
  writes.close(20);  // nothing open: nothing written
  BOOST_TEST(writes.next_event_ms() == SimulatedWrites::kNever);
}

BOOST_AUTO_TEST_CASE(sleeps_are_drawn_around_the_average_up_to_the_max) {
  DevNullWrites w;
  w.batch_size = 1;
  w.average_sleep_ms = 100;
  w.max_sleep_ms = 120;
  SimulatedWrites writes(w, 7);
  bool capped = false, below = false;
  for (uint64_t token = 0; token < 200; ++token) {
    writes.take(token, 0, 0);
    BOOST_TEST(writes.last_sleep_ms() >= 50);
    BOOST_TEST(writes.last_sleep_ms() <= 120);
    capped |= writes.last_sleep_ms() == 120;
    below |= writes.last_sleep_ms() < 100;
  }
  BOOST_TEST(capped);
  BOOST_TEST(below);
}

BOOST_AUTO_TEST_CASE(the_sink_acknowledges_when_the_write_ends) {
  Listener listener;
  auto sink = sinks::make_devnull_sink(exact(2, 0, 20), &listener);
  for (uint64_t token = 1; token <= 3; ++token) {
    BOOST_TEST(static_cast<int>(sink->write(record("abc"), token, nullptr, nullptr)) ==
               static_cast<int>(pipeline::WriteResult::ok));
  }
  BOOST_TEST(listener.written == (std::vector<uint64_t>{1, 2, 3}));
  BOOST_TEST(sink->pending() == 3u);
  BOOST_TEST(sink->pending_bytes() == 9u);
  BOOST_TEST(sink->awaiting());
  BOOST_TEST(sink->describe_wait(12345) ==
             "3 output(s) in simulated writes for 12 s (its average_sleep_time_ms, a batch after "
             "another)");
  sink->seal();
  const int64_t deadline = steady_ms() + 10000;
  while (listener.acknowledged.size() < 3 && steady_ms() < deadline) sink->poll(10);
  BOOST_TEST(listener.acknowledged == (std::vector<uint64_t>{1, 2, 3}));
  BOOST_TEST(sink->pending() == 0u);
}

BOOST_AUTO_TEST_CASE(without_sleeps_outputs_are_stored_once_taken) {
  Listener listener;
  auto sink = sinks::make_devnull_sink(DevNullWrites{}, &listener);
  sink->write(record("abc"), 1, nullptr, nullptr);
  BOOST_TEST(listener.written.empty());
  BOOST_TEST(sink->pending() == 0u);
  BOOST_TEST(sink->flush());
}

BOOST_AUTO_TEST_CASE(without_a_listener_flush_waits_for_the_writes) {
  auto sink = sinks::make_devnull_sink(exact(0, 0, 20), nullptr);
  sink->write(record("abc"), 1, nullptr, nullptr);
  BOOST_TEST(sink->pending() == 1u);
  BOOST_TEST(sink->flush());
  BOOST_TEST(sink->pending() == 0u);
}
