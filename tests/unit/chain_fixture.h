// A Chain built from a pipeline file's text, with one FakeSink per sink (in
// file order) and FakeErrors, for unit tests of the data plane.
#pragma once

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fakes.h"
#include "test_util.h"

namespace streams::testing {

inline streams_bytes view_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct ChainFixture {
  TempDir dir;
  std::vector<std::unique_ptr<FakeSink>> sinks;
  FakeErrors errors;
  metrics::PipelineMetrics metrics{"test"};
  std::unique_ptr<pipeline::Chain> chain;

  explicit ChainFixture(const std::string& pipeline_text,
                        const std::string& plugins_dir = TEST_PLUGINS_DIR) {
    config::Diagnostics diag;
    auto g = build_pipeline(dir, pipeline_text, plugins_dir, diag);
    BOOST_REQUIRE_MESSAGE(g, all_errors(diag));
    std::vector<pipeline::OutputSink*> ptrs;
    for (size_t i = 0; i < g->sinks.size(); ++i) {
      sinks.push_back(std::make_unique<FakeSink>());
      ptrs.push_back(sinks.back().get());
    }
    std::string error;
    chain = pipeline::Chain::create(g, ptrs, errors, metrics, &error);
    BOOST_REQUIRE_MESSAGE(chain, error);
  }

  // Runs `record` as if read from input[0]@offset.
  pipeline::ChainResult run(const streams_record& record, int64_t offset, uint64_t token) {
    const streams_origin origin{sizeof(streams_origin), "input", 0, offset};
    return chain->process(record, origin, token);
  }

  // The values sink `sink` was given, in order.
  std::vector<std::string> values(size_t sink) const {
    std::vector<std::string> out;
    for (const auto& w : sinks.at(sink)->written) out.push_back(w.value);
    return out;
  }
};

}  // namespace streams::testing
