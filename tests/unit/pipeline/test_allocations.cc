// The message path (chain + ingest_metrics plugin) allocates nothing per
// record once warmed up. Counts every operator new in the process, including
// the plugin's (the executable's replacement is the one the .so binds to).
#define BOOST_TEST_MODULE allocations
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>

#include "pipeline/batch_end.h"
#include "pipeline/chain.h"
#include "pipeline/offset_tracker.h"
#include "pipeline/sink_set.h"
#include "state/partition_state.h"
#include "state/store.h"
#include "test_util.h"

namespace {
std::atomic<uint64_t> g_allocations{0};
}

// The interpreter the bridge starts is never finalized, as in the host
// (host/cli/main.cc): what libpython allocated stays reachable from it.
extern "C" const char* __lsan_default_suppressions() { return "leak:libpython3\n"; }

// The replacements pair malloc with free; GCC, seeing both inlined into a
// caller, takes free for a mismatch with operator new.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace streams;
using namespace streams::testing;

namespace {

// Counts outputs without keeping them.
class CountingSink : public pipeline::OutputSink {
 public:
  pipeline::WriteResult write(const streams_record& r, uint64_t, const streams_origin*,
                              std::string*) override {
    bytes += r.value.size;
    ++count;
    return pipeline::WriteResult::ok;
  }
  std::string describe() const override { return "counting"; }
  uint64_t count = 0, bytes = 0;
};

class CountingErrors : public pipeline::ErrorHandler {
 public:
  bool on_record_error(const pipeline::RecordError&) override {
    ++count;
    return true;
  }
  uint64_t count = 0;
};

// A chain over `steps` (then a sink) into counting fakes.
struct CountingChain {
  TempDir dir;
  CountingSink sink;
  CountingErrors errors;
  metrics::PipelineMetrics metrics{"test"};
  std::unique_ptr<pipeline::Chain> chain;

  // `state`: the partition's state, for steps with `state:`; `python`: the
  // text of fns.py, for Python steps.
  explicit CountingChain(const char* steps, state::PartitionState* state = nullptr,
                         const char* python = nullptr, const char* plugins = PLUGINS_DIR) {
    if (python) {
      ::setenv("STREAMS_PYTHON_BRIDGE", PYTHON_BRIDGE, 0);
      dir.write("fns.py", python);
    }
    config::Diagnostics diag;
    auto generation = build(dir, steps, plugins, diag);
    BOOST_REQUIRE_MESSAGE(generation, all_errors(diag));
    std::string error;
    chain = pipeline::Chain::create(generation, {&sink}, errors, metrics, &error, nullptr, state);
    BOOST_REQUIRE_MESSAGE(chain, error);
  }
  void process(const std::string& value, int64_t offset, std::string_view key = {}) {
    streams_record r{};
    r.struct_size = sizeof(r);
    r.value = {reinterpret_cast<const uint8_t*>(value.data()), value.size()};
    r.key = {reinterpret_cast<const uint8_t*>(key.data()), key.size()};
    const streams_origin origin{sizeof(streams_origin), "t", 0, offset};
    chain->process(r, origin, static_cast<uint64_t>(offset));
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(simple_map_filter_allocates_nothing_per_record) {
  CountingChain c(
      "  - {kind: filter, name: filter, plugin: ingest_metrics, function: is_counter}\n"
      "  - {kind: map, name: transform, plugin: ingest_metrics, function: transform}\n");
  std::vector<std::string> inputs;
  std::ifstream in(EXAMPLE_DIR "/input.jsonl");
  for (std::string line; std::getline(in, line);) inputs.push_back(line);
  BOOST_REQUIRE(inputs.size() == 6u);

  auto run_all = [&] {
    for (size_t i = 0; i < inputs.size(); ++i) c.process(inputs[i], static_cast<int64_t>(i));
  };
  const uint64_t start = g_allocations.load();
  run_all();  // warm-up: buffers grow to the largest record
  const uint64_t before = g_allocations.load();
  // The plugin's parser and buffers allocate here: proof the count sees them.
  BOOST_TEST(before - start > 0u);
  for (int round = 0; round < 1000; ++round) run_all();
  const uint64_t allocations = g_allocations.load() - before;

  BOOST_TEST(allocations == 0u);
  BOOST_TEST(c.sink.count == 2u * 1001);    // two counters per round
  BOOST_TEST(c.errors.count == 2u * 1001);  // two malformed per round
}

BOOST_AUTO_TEST_CASE(parser_and_batch_allocate_nothing_per_record) {
  CountingChain c(
      "  - {kind: parser, name: p, format: json}\n"
      "  - {kind: batch, name: b, max_count: 4}\n"
      "  - {kind: serializer, name: s, format: json}\n");
  const std::string metric =
      R"({"org_id": 1, "name": "c:sessions", "type": "c", "value": [1, 2, 3], "tags": {}})";
  int64_t offset = 0;
  auto run = [&](int n) {
    for (int i = 0; i < n; ++i) c.process(metric, offset++);
  };
  run(8);  // warm-up: parser and batch buffers grow
  const uint64_t before = g_allocations.load();
  run(4000);
  BOOST_TEST(g_allocations.load() - before == 0u);
  BOOST_TEST(c.sink.count == 1002u);  // every four records, one batch
  BOOST_TEST(c.errors.count == 0u);
}

// The offset tracker grows to the most inputs in flight with a few
// allocations (geometric), not one an input, and then allocates nothing.
BOOST_AUTO_TEST_CASE(the_offset_tracker_grows_in_few_allocations) {
  constexpr uint32_t kInputs = 100000;
  pipeline::OffsetTracker tracker(kInputs);
  std::vector<uint32_t> slots;
  slots.reserve(kInputs);
  uint64_t before = g_allocations.load();
  for (uint32_t i = 0; i < kInputs; ++i) slots.push_back(tracker.begin(i));
  BOOST_TEST(g_allocations.load() - before < 100u);
  BOOST_TEST(tracker.full());
  before = g_allocations.load();
  for (uint32_t slot : slots) tracker.release(slot);
  for (uint32_t i = 0; i < kInputs; ++i) slots[i] = tracker.begin(kInputs + i);
  BOOST_TEST(g_allocations.load() - before == 0u);
  BOOST_TEST(tracker.committable() == int64_t{kInputs});
}

// A stateful step (the counter, on the memory backend) allocates nothing
// per record once its keys are cached and its change log has grown: small
// values sit in their entries, log slots and staged slots keep their
// buffers. Checkpoints are counted apart (a bounded few each).
BOOST_AUTO_TEST_CASE(a_stateful_count_allocates_nothing_per_record_once_warm) {
  auto stores = state::memory_backend();
  std::string error;
  auto partition = state::PartitionState::open(stores->open(0, &error), &error);
  BOOST_REQUIRE_MESSAGE(partition, error);
  CountingChain c("  - {kind: map, name: m, plugin: passthrough, function: count, state: {}}\n",
                  partition.get());
  constexpr int kKeys = 1000, kRound = 4000;
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back("user-" + std::to_string(i * 7919));
  int64_t offset = 0;
  uint64_t in_checkpoints = 0;
  auto run = [&] {
    for (int i = 0; i < kRound; ++i, ++offset) c.process("x", offset, keys[offset % kKeys]);
    const uint64_t before = g_allocations.load();
    BOOST_REQUIRE_MESSAGE(partition->prepare(offset, &error), error);
    BOOST_REQUIRE_MESSAGE(partition->checkpoint(offset, &error), error);
    in_checkpoints += g_allocations.load() - before;
  };
  const uint64_t start = g_allocations.load();
  run();  // warm-up: cache entries, log blocks, staged slots
  run();
  BOOST_TEST(g_allocations.load() - start > uint64_t{kKeys});  // the count sees the cache's
  const uint64_t before = g_allocations.load();
  in_checkpoints = 0;
  for (int round = 0; round < 5; ++round) run();
  BOOST_TEST(g_allocations.load() - before - in_checkpoints == 0u);
  BOOST_TEST(in_checkpoints <= 5u * 8);
  BOOST_TEST(c.sink.count == 7u * kRound);
  BOOST_TEST(c.errors.count == 0u);
  std::string_view value;
  BOOST_REQUIRE(partition->table("m", {}, &error));
  BOOST_TEST(
      (partition->table("m", {}, &error)->get(keys[0], &value, &error) == state::Found::yes));
  uint64_t n = 0;
  std::memcpy(&n, value.data(), sizeof n);
  BOOST_TEST(n == 7u * kRound / kKeys);
}

// Windows: a reduce keeps its open windows' accumulators and emits each
// closed one without allocating per record once its buffers grew; with
// `state: {}` (its windows in the partition's store) as well, checkpoints
// apart. testkit's count aggregate: a uint64_t, emitted as decimal text.
BOOST_AUTO_TEST_CASE(a_reduce_allocates_nothing_per_record) {
  CountingChain c(
      "  - {kind: reduce, name: r, plugin: testkit, function: count,\n"
      "     window: {type: tumbling, size: 4}}\n",
      nullptr, nullptr, TEST_PLUGINS_DIR);
  int64_t offset = 0;
  auto run = [&](int n) {
    for (int i = 0; i < n; ++i, ++offset) c.process("x", offset);
  };
  run(40);  // warm-up
  const uint64_t before = g_allocations.load();
  run(4000);
  BOOST_TEST(g_allocations.load() - before == 0u);
  BOOST_TEST(c.sink.count == 1010u);  // a window every four records
  BOOST_TEST(c.sink.bytes == 1010u);  // each "4"
  BOOST_TEST(c.errors.count == 0u);
}

// A plugin's own counters, gauges and histogram (ABI 1.11, 1.12): updated
// per record with no allocation.
BOOST_AUTO_TEST_CASE(a_plugins_own_metrics_allocate_nothing_per_record) {
  CountingChain c("  - {kind: map, name: measured, plugin: testkit, function: counted}\n", nullptr,
                  nullptr, TEST_PLUGINS_DIR);
  int64_t offset = 0;
  auto run = [&](int n) {
    for (int i = 0; i < n; ++i, ++offset) c.process(i % 2 ? "x" : "yyyyyyyy", offset);
  };
  run(10);  // warm-up
  const uint64_t before = g_allocations.load();
  run(2000);
  BOOST_TEST(g_allocations.load() - before == 0u);
  BOOST_TEST(c.sink.count == 2010u);
}

BOOST_AUTO_TEST_CASE(a_reduce_keeping_its_windows_in_state_allocates_nothing_per_record) {
  auto stores = state::memory_backend();
  std::string error;
  auto partition = state::PartitionState::open(stores->open(0, &error), &error);
  BOOST_REQUIRE_MESSAGE(partition, error);
  CountingChain c(
      "  - {kind: reduce, name: r, plugin: testkit, function: count,\n"
      "     window: {type: tumbling, size: 4}, state: {}}\n",
      partition.get(), nullptr, TEST_PLUGINS_DIR);
  int64_t offset = 0;
  uint64_t in_checkpoints = 0;
  auto run = [&] {
    for (int i = 0; i < 4000; ++i, ++offset) c.process("x", offset);
    const uint64_t before = g_allocations.load();
    BOOST_REQUIRE_MESSAGE(partition->prepare(offset, &error), error);
    BOOST_REQUIRE_MESSAGE(partition->checkpoint(offset, &error), error);
    in_checkpoints += g_allocations.load() - before;
  };
  // Warm-up: the window's entry, log blocks, staged slots, and a buffer
  // for a pane in every log slot (the slot a change lands in turns round).
  for (int round = 0; round < 20; ++round) run();
  const uint64_t before = g_allocations.load();
  in_checkpoints = 0;
  for (int round = 0; round < 5; ++round) run();
  BOOST_TEST(g_allocations.load() - before - in_checkpoints == 0u);
  BOOST_TEST(in_checkpoints <= 5u * 8);
  BOOST_TEST(c.sink.count == 25u * 1000);
  BOOST_TEST(c.errors.count == 0u);
}

// The Python bridge's fast path (a map returning the payload, the GIL kept
// across a batch): nothing allocated per record by the host or the bridge
// (CPython's own objects come from its allocator, not operator new).
BOOST_AUTO_TEST_CASE(a_python_map_allocates_nothing_per_record_in_the_bridge) {
  CountingChain c("  - {kind: map, name: m, python: fns.identity}\n", nullptr,
                  "def identity(msg):\n    return msg.payload\n");
  const std::string value(100, 'x');
  int64_t offset = 0;
  auto batch = [&](int n) {
    const pipeline::BatchScope scope;
    for (int i = 0; i < n; ++i, ++offset) c.process(value, offset);
  };
  batch(100);  // warm-up
  const uint64_t before = g_allocations.load();
  for (int round = 0; round < 40; ++round) batch(100);
  BOOST_TEST(g_allocations.load() - before == 0u);
  BOOST_TEST(c.sink.count == 4100u);
  BOOST_TEST(c.sink.bytes == 4100u * 100);
  BOOST_TEST(c.errors.count == 0u);
}

namespace {

// A sink with `held` outputs unacknowledged.
class HeldSink : public pipeline::OutputSink {
 public:
  pipeline::WriteResult write(const streams_record&, uint64_t, const streams_origin*,
                              std::string*) override {
    return pipeline::WriteResult::ok;
  }
  uint64_t pending() const override { return held; }
  std::string describe() const override { return "held"; }
  uint64_t held = 0;
};

class HeldSinkMaker : public pipeline::SinkMaker {
 public:
  std::unique_ptr<pipeline::OutputSink> make(const pipeline::Generation&, size_t,
                                             pipeline::SinkListener&, std::string*) override {
    auto sink = std::make_unique<HeldSink>();
    made = sink.get();
    return sink;
  }
  std::unique_ptr<pipeline::OutputSink> make_dlq(const pipeline::Generation&,
                                                 pipeline::SinkListener&, std::string*) override {
    return nullptr;
  }
  HeldSink* made = nullptr;
};

class IgnoringListener : public pipeline::SinkListener {
 public:
  void on_written(uint64_t) override {}
  void on_acknowledged(pipeline::OutputSink&, uint64_t) override {}
  void on_rejected(pipeline::OutputSink&, uint64_t, const streams_record&, const char*) override {}
  void on_failed(pipeline::OutputSink&, const char*) override {}
};

}  // namespace

// While a sink is over its bound the loop asks, every turn and for every
// paused partition, whether it still is: the answer allocates nothing (only
// the reason, asked when a partition pauses, is text).
BOOST_AUTO_TEST_CASE(asking_whether_a_sink_is_over_its_bound_allocates_nothing) {
  TempDir dir;
  config::Diagnostics diag;
  auto generation = build(dir, "", PLUGINS_DIR, diag);  // a Kafka sink, its default bound
  BOOST_REQUIRE_MESSAGE(generation, all_errors(diag));
  const uint64_t bound = generation->sink_settings(0).max_in_flight_messages_with(0);
  BOOST_REQUIRE(bound >= 4u);
  HeldSinkMaker maker;
  IgnoringListener listener;
  pipeline::SinkSet sinks;
  std::string error;
  BOOST_REQUIRE_MESSAGE(sinks.create(*generation, maker, listener, &error), error);
  maker.made->held = bound;

  const uint64_t before = g_allocations.load();
  bool over = true;
  for (int turn = 0; turn < 1000; ++turn) over = over && sinks.over(1.0) && sinks.over(0.5);
  BOOST_TEST(g_allocations.load() - before == 0u);
  BOOST_TEST(over);
  maker.made->held = bound / 2 - 1;
  BOOST_TEST(!sinks.over(0.5));
  BOOST_TEST(!sinks.over_bounds(0.5));
  maker.made->held = bound;
  BOOST_TEST(std::string(sinks.over_bounds(1.0)) ==
             "sink held has " + std::to_string(bound) +
                 " outputs (0 bytes) unacknowledged, at its max_in_flight bound");
}
