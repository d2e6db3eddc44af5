// Microbenchmark of the plugin call path: Chain::process through one
// passthrough step into a sink that discards, per record.
//   BM_NoOutput: a filter that drops (the call alone)
//   BM_OneOutput: the identity map emitting one record
//   BM_SimpleMapFilter: the example's filter + map on a ~250-byte IngestMetric
#include <benchmark/benchmark.h>

#include "../unit/test_util.h"
#include "pipeline/chain.h"

using namespace streams;

namespace {

class NullSink : public pipeline::OutputSink {
 public:
  bool write(const streams_record& r, uint64_t) override {
    benchmark::DoNotOptimize(r.value.data);
    return true;
  }
};

class NullErrors : public pipeline::ErrorHandler {
 public:
  bool on_record_error(const pipeline::RecordError&) override { return true; }
};

const char kMetric[] =
    R"({"org_id": 420, "project_id": 420, "name": "s:sessions/user@none", "tags": {"sdk": )"
    R"("raven-node/2.6.3", "environment": "production", "release": "sentry-test@1.0.0"}, )"
    R"("timestamp": 1846062325, "type": "c", "retention_days": 90, "value": [1617781333]})";

void run(benchmark::State& state, const char* step, std::string_view value) {
  testing::TempDir dir;
  config::Diagnostics diag;
  auto g = testing::build(dir, step, PLUGINS_DIR, diag);
  if (!g) {
    state.SkipWithError(testing::all_errors(diag).c_str());
    return;
  }
  NullSink sink;
  NullErrors errors;
  std::string error;
  auto chain = pipeline::Chain::create(g, {&sink}, errors, &error);
  streams_record r{};
  r.struct_size = sizeof(r);
  r.value = {reinterpret_cast<const uint8_t*>(value.data()), value.size()};
  const streams_origin origin{sizeof(streams_origin), "t", 0, 0};
  uint64_t token = 0;
  for (auto _ : state) benchmark::DoNotOptimize(chain->process(r, origin, ++token));
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

}  // namespace

BENCHMARK(BM_NoOutput);
BENCHMARK(BM_OneOutput);
BENCHMARK(BM_SimpleMapFilter);
BENCHMARK_MAIN();
