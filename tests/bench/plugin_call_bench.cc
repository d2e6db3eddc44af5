// Microbenchmark of the plugin call path: Chain::process through one
// passthrough step into a sink that discards, per record.
//   BM_NoOutput: a filter that drops (the call alone)
//   BM_OneOutput: the identity map emitting one record
//   BM_SimpleMapFilter: the example's filter + map on a ~250-byte IngestMetric
//   BM_Parse*: the parser step on that IngestMetric (the parse-once question:
//   what a second parse of a message costs next to the call path)
//   BM_Python*: the same through the Python bridge (python: steps): a filter
//   that drops, the identity map, and the example's filter + map in Python
//   after a parser and before a serializer
#include <benchmark/benchmark.h>

#include <cstdio>
#include <optional>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "../unit/test_util.h"
#include "pipeline/batch_end.h"
#include "pipeline/chain.h"
#include "state/partition_state.h"
#include "state/store.h"

using namespace streams;

namespace {

class NullSink : public pipeline::OutputSink {
 public:
  pipeline::WriteResult write(const streams_record& r, uint64_t, const streams_origin*,
                              std::string*) override {
    benchmark::DoNotOptimize(r.value.data);
    return pipeline::WriteResult::ok;
  }
  std::string describe() const override { return "null"; }
};

class NullErrors : public pipeline::ErrorHandler {
 public:
  bool on_record_error(const pipeline::RecordError&) override { return true; }
};

const char kMetric[] =
    R"({"org_id": 420, "project_id": 420, "name": "s:sessions/user@none", "tags": {"sdk": )"
    R"("raven-node/2.6.3", "environment": "production", "release": "sentry-test@1.0.0"}, )"
    R"("timestamp": 1846062325, "type": "c", "retention_days": 90, "value": [1617781333]})";

const char kPythonFunctions[] = R"(
def drop(msg):
    return False


def identity(msg):
    return msg.payload


def is_counter(msg):
    return msg.payload["type"] == "c"


def transform(msg):
    return {**msg.payload, "transformed": True}


def identity_batch(msg):
    return [payload for payload, _ in msg.payload]
)";

// Inputs per batch, as the Kafka source hands them (one poll's worth).
constexpr uint64_t kBatchInputs = 1024;

// `batches`: the thread ends a batch every kBatchInputs inputs, as the Kafka
// runtime does (plugins may keep per-thread resources within a batch); else
// the thread takes no batch-end requests, as a test driver.
void run(benchmark::State& state, const char* step, std::string_view value,
         const char* schema = nullptr, bool batches = true) {
  testing::TempDir dir;
  if (schema) dir.write("schema.json", schema);
  dir.write("bench_fns.py", kPythonFunctions);
  config::Diagnostics diag;
  auto g = testing::build(dir, step, PLUGINS_DIR, diag);
  if (!g) {
    state.SkipWithError(testing::all_errors(diag).c_str());
    return;
  }
  NullSink sink;
  NullErrors errors;
  metrics::PipelineMetrics metrics{"bench"};
  std::string error;
  auto chain = pipeline::Chain::create(g, {&sink}, errors, metrics, &error);
  streams_record r{};
  r.struct_size = sizeof(r);
  r.value = {reinterpret_cast<const uint8_t*>(value.data()), value.size()};
  const streams_origin origin{sizeof(streams_origin), "t", 0, 0};
  std::optional<pipeline::BatchScope> scope;
  if (batches) scope.emplace();
  uint64_t token = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(chain->process(r, origin, ++token));
    if (token % kBatchInputs == 0) pipeline::end_batch();
  }
  state.SetItemsProcessed(state.iterations());
}

const std::string_view k100Bytes(kMetric, 100);

void BM_NoOutput(benchmark::State& state) {
  run(state, "  - {kind: filter, name: f, plugin: passthrough, function: drop_all}\n", k100Bytes);
}
void BM_OneOutput(benchmark::State& state) {
  run(state, "  - {kind: map, name: m, plugin: passthrough, function: identity}\n", k100Bytes);
}
void BM_SimpleMapFilter(benchmark::State& state) {
  run(state,
      "  - {kind: filter, name: f, plugin: ingest_metrics, function: is_counter}\n"
      "  - {kind: map, name: m, plugin: ingest_metrics, function: transform}\n",
      kMetric);
}

// The same three through the Rust SDK (plugins/rust_example): the call
// path of a Rust plugin next to the C++ one's.
[[maybe_unused]] void BM_RustNoOutput(benchmark::State& state) {
  run(state, "  - {kind: filter, name: f, plugin: rust_example, function: drop_all}\n", k100Bytes);
}
[[maybe_unused]] void BM_RustOneOutput(benchmark::State& state) {
  run(state, "  - {kind: map, name: m, plugin: rust_example, function: identity}\n", k100Bytes);
}
[[maybe_unused]] void BM_RustSimpleMapFilter(benchmark::State& state) {
  run(state,
      "  - {kind: filter, name: f, plugin: rust_example, function: is_counter}\n"
      "  - {kind: map, name: m, plugin: rust_example, function: transform}\n",
      kMetric);
}

void BM_ParseJson(benchmark::State& state) {
  run(state, "  - {kind: parser, name: p, format: json}\n", kMetric);
}
void BM_ParseJsonSchema(benchmark::State& state) {
  run(state, "  - {kind: parser, name: p, format: json, schema: schema.json}\n", kMetric,
      R"({"type": "object", "required": ["org_id", "type", "value"],
          "properties": {"org_id": {"type": "integer"}, "type": {"enum": ["c", "d", "s", "g"]},
                         "tags": {"type": "object"}}})");
}
void BM_ParseMsgpack(benchmark::State& state) {
  static const std::string packed = [] {
    std::string out;
    nlohmann::json::to_msgpack(nlohmann::json::parse(kMetric),
                               nlohmann::detail::output_adapter<char>(out));
    return out;
  }();
  run(state, "  - {kind: parser, name: p, format: msgpack}\n", packed);
}

void BM_PythonNoOutput(benchmark::State& state) {
  run(state, "  - {kind: filter, name: f, python: bench_fns.drop}\n", k100Bytes);
}
void BM_PythonOneOutput(benchmark::State& state) {
  run(state, "  - {kind: map, name: m, python: bench_fns.identity}\n", k100Bytes);
}
// The identity map with the GIL taken and released per call (a thread
// that takes no batch-end requests): what keeping it across a batch saves.
void BM_PythonOneOutputPerCall(benchmark::State& state) {
  run(state, "  - {kind: map, name: m, python: bench_fns.identity}\n", k100Bytes, nullptr,
      /*batches=*/false);
}
void BM_PythonSimpleMapFilter(benchmark::State& state) {
  run(state,
      "  - {kind: parser, name: p, format: json}\n"
      "  - {kind: filter, name: f, python: bench_fns.is_counter}\n"
      "  - {kind: map, name: m, python: bench_fns.transform}\n"
      "  - {kind: serializer, name: s, format: json}\n",
      kMetric);
}
// The same on a thread of its own, not the one that started Python (as a
// processing thread other than the main one): the bridge keeps that
// thread's Python thread state between calls.
void BM_PythonOneOutputWorker(benchmark::State& state) {
  std::thread worker([&state] { BM_PythonOneOutput(state); });
  worker.join();
}
// The identity map over batches of 100 records (msgpack batch, one flat_map
// call per batch): what a Python step costs per record when it takes records
// in batches.
void BM_PythonOneOutputBatched(benchmark::State& state) {
  run(state,
      "  - {kind: batch, name: b, max_count: 100, format: msgpack}\n"
      "  - {kind: flat_map, name: m, python: bench_fns.identity_batch}\n",
      k100Bytes);
}

// State: the running count per key (passthrough's `count`, `state: {}`)
// over 100,000 distinct keys in turn, against the identity map on the same
// keyed records; a commit's checkpoint (prepare + checkpoint) every 10,000
// records, as a runtime committing every commit_interval_ms would; each
// record's key hinted to the state two records ahead, as the Kafka source
// does.
constexpr int kStateKeys = 100000;
constexpr int kCheckpointEvery = 10000;

// Record `offset`'s key: one of kStateKeys in turn, or with `fresh` a key
// never seen before (a dedup of unique ids: every get misses).
std::string_view key_of(const std::vector<std::string>& keys, int64_t offset, bool fresh,
                        char (&buf)[32]) {
  if (!fresh) return keys[offset % kStateKeys];
  const int n = std::snprintf(buf, sizeof buf, "id-%lld", static_cast<long long>(offset * 7919));
  return {buf, static_cast<size_t>(n)};
}

void run_keyed(benchmark::State& state, const char* step, const char* backend, bool fresh = false) {
  testing::TempDir dir;
  config::Diagnostics diag;
  auto g = testing::build(dir, step, PLUGINS_DIR, diag);
  if (!g) {
    state.SkipWithError(testing::all_errors(diag).c_str());
    return;
  }
  auto stores = std::string(backend) == "rocksdb" ? state::rocksdb_backend(dir.path() + "/state")
                                                  : state::memory_backend();
  std::string error;
  auto partition = state::PartitionState::open(stores->open(0, &error), &error);
  NullSink sink;
  NullErrors errors;
  metrics::PipelineMetrics metrics{"bench"};
  auto chain =
      pipeline::Chain::create(g, {&sink}, errors, metrics, &error, nullptr, partition.get());
  if (!chain) {
    state.SkipWithError(error.c_str());
    return;
  }
  std::vector<std::string> keys;
  for (int i = 0; i < kStateKeys; ++i) keys.push_back("user-" + std::to_string(i * 7919));
  streams_record r{};
  r.struct_size = sizeof(r);
  r.value = {reinterpret_cast<const uint8_t*>(kMetric), 100};
  streams_origin origin{sizeof(streams_origin), "t", 0, 0};
  int64_t offset = 0;
  // The hints the Kafka source gives (pipeline/source.h): two records
  // ahead, then one.
  char ahead[32], now[32];
  partition->prefetch_soon(key_of(keys, 0, fresh, ahead));
  uint64_t after = partition->prefetch_soon(key_of(keys, 1, fresh, ahead));
  for (auto _ : state) {
    partition->prefetch_next(after);
    after = partition->prefetch_soon(key_of(keys, offset + 2, fresh, ahead));
    const std::string_view key = key_of(keys, offset, fresh, now);
    r.key = {reinterpret_cast<const uint8_t*>(key.data()), key.size()};
    origin.offset = offset;
    benchmark::DoNotOptimize(chain->process(r, origin, static_cast<uint64_t>(offset)));
    if (++offset % kCheckpointEvery == 0 &&
        (!partition->prepare(offset, &error) || !partition->checkpoint(offset, &error))) {
      state.SkipWithError(error.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_KeyedIdentity(benchmark::State& state) {
  run_keyed(state, "  - {kind: map, name: m, plugin: passthrough, function: identity}\n", "memory");
}
void BM_StateCountMemory(benchmark::State& state) {
  run_keyed(state, "  - {kind: map, name: m, plugin: passthrough, function: count, state: {}}\n",
            "memory");
}
void BM_StateCountRocksdb(benchmark::State& state) {
  run_keyed(state, "  - {kind: map, name: m, plugin: passthrough, function: count, state: {}}\n",
            "rocksdb");
}
// Every key new: each get misses the store (a dedup of unique ids).
void BM_StateCountRocksdbNewKeys(benchmark::State& state) {
  run_keyed(state, "  - {kind: map, name: m, plugin: passthrough, function: count, state: {}}\n",
            "rocksdb", /*fresh=*/true);
}

}  // namespace

BENCHMARK(BM_NoOutput);
BENCHMARK(BM_OneOutput);
BENCHMARK(BM_SimpleMapFilter);
#ifdef STREAMS_RUST_EXAMPLE
BENCHMARK(BM_RustNoOutput);
BENCHMARK(BM_RustOneOutput);
BENCHMARK(BM_RustSimpleMapFilter);
#endif
BENCHMARK(BM_ParseJson);
BENCHMARK(BM_ParseJsonSchema);
BENCHMARK(BM_ParseMsgpack);
BENCHMARK(BM_PythonNoOutput);
BENCHMARK(BM_PythonOneOutput);
BENCHMARK(BM_PythonOneOutputPerCall);
BENCHMARK(BM_PythonOneOutputWorker);
BENCHMARK(BM_PythonSimpleMapFilter);
BENCHMARK(BM_PythonOneOutputBatched);
BENCHMARK(BM_KeyedIdentity);
BENCHMARK(BM_StateCountMemory);
BENCHMARK(BM_StateCountRocksdb);
BENCHMARK(BM_StateCountRocksdbNewKeys);

int main(int argc, char** argv) {
  ::setenv("STREAMS_PYTHON_BRIDGE", PYTHON_BRIDGE, 0);  // the build tree's bridge
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
