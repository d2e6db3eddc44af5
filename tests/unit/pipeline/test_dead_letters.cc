// The dead-letter queue handler and the error limits: every kind of failure
// reaches the DLQ sink as the original record plus error headers.
#define BOOST_TEST_MODULE dead_letters
#include <boost/test/unit_test.hpp>

#include <map>

#include "chain_fixture.h"
#include "pipeline/dead_letters.h"
#include "pipeline/error_limits.h"

using namespace streams;
using namespace streams::testing;

namespace {

const char* kSource = "source: {name: in, stream_name: input}\nsteps:\n";

// A chain whose failed records go to `dlq` through DeadLetters.
struct Dlq {
  TempDir dir;
  std::vector<std::unique_ptr<FakeSink>> sinks;
  FakeSink dlq;
  pipeline::DeadLetters letters{dlq, "dlq"};
  metrics::PipelineMetrics metrics{"test"};
  std::unique_ptr<pipeline::Chain> chain;
  std::string key = "k1";
  std::vector<std::pair<std::string, std::string>> header_text = {{"trace", "t-1"}};

  explicit Dlq(const std::string& steps) {
    config::Diagnostics diag;
    auto g = build_pipeline(dir, std::string(kSource) + steps, TEST_PLUGINS_DIR, diag);
    BOOST_REQUIRE_MESSAGE(g, all_errors(diag));
    std::vector<pipeline::OutputSink*> ptrs;
    for (size_t i = 0; i < g->sinks.size(); ++i) {
      sinks.push_back(std::make_unique<FakeSink>());
      ptrs.push_back(sinks.back().get());
    }
    std::string error;
    chain = pipeline::Chain::create(g, ptrs, letters, metrics, &error);
    BOOST_REQUIRE_MESSAGE(chain, error);
  }

  pipeline::ChainResult run(const std::string& value, int64_t offset = 7, uint64_t token = 42) {
    std::vector<streams_header> headers;
    for (const auto& [name, v] : header_text) headers.push_back({view_bytes(name), view_bytes(v)});
    streams_record r{};
    r.struct_size = sizeof(r);
    r.key = view_bytes(key);
    r.value = view_bytes(value);
    r.headers = headers.data();
    r.header_count = headers.size();
    r.timestamp_ms = 1700000000000;
    const streams_origin origin{sizeof(streams_origin), "input", 3, offset};
    return chain->process(r, origin, token);
  }

  // The error headers of DLQ record `i` by name (the original ones excluded).
  std::map<std::string, std::string> error_headers(size_t i) const {
    std::map<std::string, std::string> out;
    for (const auto& [name, value] : dlq.written.at(i).headers) {
      if (name.rfind("streams.error.", 0) == 0) out[name] = value;
    }
    return out;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_plugin_error_sends_the_original_record_with_every_error_header) {
  Dlq f(
      "  - {kind: map, name: up, plugin: testkit, function: upper}\n"
      "  - {kind: filter, name: only_a, plugin: testkit, function: starts_with_a}\n"
      "  - {kind: sink, name: out, stream_name: output}\n");
  BOOST_TEST((f.run("") == pipeline::ChainResult::ok));
  BOOST_REQUIRE(f.dlq.written.size() == 1u);
  const WrittenRecord& r = f.dlq.written[0];
  BOOST_TEST(r.key == "k1");
  BOOST_TEST(r.value == "");
  BOOST_TEST(r.timestamp_ms == 1700000000000);
  BOOST_TEST(r.token == 42u);  // holds the input until the DLQ record is delivered
  BOOST_REQUIRE(!r.headers.empty());
  BOOST_TEST(r.headers[0].first == "trace");  // the original headers come first
  BOOST_TEST(r.headers[0].second == "t-1");
  auto h = f.error_headers(0);
  BOOST_TEST(h["streams.error.step"] == "only_a");
  BOOST_TEST(h["streams.error.plugin"] == "testkit");
  BOOST_TEST(h["streams.error.plugin_version"] == "2.3.4");
  BOOST_TEST(h["streams.error.kind"] == "invalid_input");
  BOOST_TEST(h["streams.error.message"] == "empty value");
  BOOST_TEST(h["streams.error.topic"] == "input");
  BOOST_TEST(h["streams.error.partition"] == "3");
  BOOST_TEST(h["streams.error.offset"] == "7");
  BOOST_TEST(h["streams.error.record"] == "input");
  BOOST_TEST(std::stoll(h["streams.error.time_ms"]) > 1700000000000);
  BOOST_TEST(f.sinks[0]->written.empty());
  BOOST_TEST(f.letters.sent() == 1u);
}

BOOST_AUTO_TEST_CASE(error_details_become_headers_and_cannot_forge_the_hosts) {
  Dlq f(
      "  - {kind: map, name: check, plugin: testkit, function: picky}\n"
      "  - {kind: sink, name: out, stream_name: output}\n");
  BOOST_TEST((f.run("a detail") == pipeline::ChainResult::ok));
  BOOST_REQUIRE(f.dlq.written.size() == 1u);
  auto h = f.error_headers(0);
  BOOST_TEST(h["streams.error.message"] == "details taken: yes, no");
  BOOST_TEST(h["streams.error.why"] == "because");
  BOOST_TEST(h["streams.error.step"] == "check");
  // The next failure carries only its own details.
  BOOST_TEST((f.run("bad") == pipeline::ChainResult::ok));
  BOOST_REQUIRE(f.dlq.written.size() == 2u);
  BOOST_TEST(f.error_headers(1).count("streams.error.why") == 0u);
}

BOOST_AUTO_TEST_CASE(a_throwing_plugin_after_a_map_sends_the_input_as_read) {
  Dlq f(
      "  - {kind: map, name: up, plugin: testkit, function: upper}\n"
      "  - {kind: map, name: boom, plugin: testkit, function: thrower}\n"
      "  - {kind: sink, name: out, stream_name: output}\n");
  BOOST_TEST((f.run("apple") == pipeline::ChainResult::ok));
  BOOST_REQUIRE(f.dlq.written.size() == 1u);
  BOOST_TEST(f.dlq.written[0].value == "apple");  // not "APPLE"
  auto h = f.error_headers(0);
  BOOST_TEST(h["streams.error.kind"] == "exception");
  BOOST_TEST(h["streams.error.step"] == "boom");
  BOOST_TEST(h["streams.error.message"].find("boom") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_parse_failure_names_the_parser_and_no_plugin) {
  Dlq f(
      "  - {kind: parser, name: parse, format: json}\n"
      "  - {kind: sink, name: out, stream_name: output}\n");
  BOOST_TEST((f.run("{\"a\":") == pipeline::ChainResult::ok));
  BOOST_TEST((f.run("{\"a\":1}", 8) == pipeline::ChainResult::ok));
  BOOST_REQUIRE(f.dlq.written.size() == 1u);
  BOOST_TEST(f.dlq.written[0].value == "{\"a\":");
  auto h = f.error_headers(0);
  BOOST_TEST(h["streams.error.step"] == "parse");
  BOOST_TEST(h["streams.error.kind"] == "invalid_input");
  BOOST_TEST(h.count("streams.error.plugin") == 0u);
  BOOST_TEST(f.sinks[0]->written.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_failure_on_one_branch_leaves_the_other_branch_its_output) {
  Dlq f(
      "  - kind: broadcast\n"
      "    name: fan\n"
      "    branches:\n"
      "      bad:\n"
      "        - {kind: map, name: t, plugin: testkit, function: thrower}\n"
      "        - {kind: sink, name: bad_out, type: devnull}\n"
      "      good: [{kind: sink, name: good_out, stream_name: good}]\n");
  BOOST_TEST((f.run("x") == pipeline::ChainResult::ok));
  BOOST_REQUIRE(f.dlq.written.size() == 1u);
  BOOST_TEST(f.error_headers(0)["streams.error.step"] == "t");
  BOOST_TEST(f.sinks[1]->written.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_record_the_sink_rejects_goes_to_the_dlq_as_sink_rejected) {
  Dlq f(
      "  - {kind: map, name: up, plugin: testkit, function: upper}\n"
      "  - {kind: sink, name: out, stream_name: output}\n");
  f.sinks[0]->result = pipeline::WriteResult::rejected;
  BOOST_TEST((f.run("apple") == pipeline::ChainResult::ok));
  BOOST_REQUIRE(f.dlq.written.size() == 1u);
  BOOST_TEST(f.dlq.written[0].value == "apple");
  auto h = f.error_headers(0);
  BOOST_TEST(h["streams.error.kind"] == "sink_rejected");
  BOOST_TEST(h["streams.error.step"] == "out");
  BOOST_TEST(h["streams.error.message"] == "rejected by the fake sink");
}

BOOST_AUTO_TEST_CASE(a_failure_after_a_batch_sends_the_batch_marked_derived) {
  Dlq f(
      "  - {kind: batch, name: b, max_count: 2, format: json}\n"
      "  - {kind: map, name: boom, plugin: testkit, function: thrower}\n"
      "  - {kind: sink, name: out, stream_name: output}\n");
  BOOST_TEST((f.run("1", 10, 100) == pipeline::ChainResult::ok));
  BOOST_TEST(f.dlq.written.empty());
  BOOST_TEST((f.run("2", 11, 101) == pipeline::ChainResult::ok));
  BOOST_REQUIRE(f.dlq.written.size() == 1u);
  BOOST_TEST(f.dlq.written[0].value == "[1,2]");
  BOOST_TEST(f.dlq.written[0].token == 100u);  // the batch's first input
  auto h = f.error_headers(0);
  BOOST_TEST(h["streams.error.record"] == "derived");
  BOOST_TEST(h["streams.error.offset"] == "10");
  BOOST_TEST(h["streams.error.step"] == "boom");
}

// Larger than the DLQ takes: its error headers go alone, saying what was
// left out, and the pipeline goes on.
BOOST_AUTO_TEST_CASE(a_record_too_large_for_the_dlq_goes_as_its_envelope) {
  Dlq f(
      "  - {kind: map, name: boom, plugin: testkit, function: thrower}\n"
      "  - {kind: sink, name: out, stream_name: output}\n");
  f.dlq.max_bytes = 100;
  BOOST_TEST((f.run(std::string(500, 'x')) == pipeline::ChainResult::ok));
  BOOST_REQUIRE_EQUAL(f.dlq.written.size(), 1u);
  const auto& envelope = f.dlq.written[0];
  BOOST_TEST(envelope.value.empty());
  BOOST_TEST(envelope.key_null);
  auto h = f.error_headers(0);
  BOOST_TEST(h["streams.error.step"] == "boom");
  BOOST_TEST(h["streams.error.value_omitted"] == "500");
  BOOST_TEST(h["streams.error.key_omitted"] == "2");
  BOOST_TEST(h["streams.error.headers_omitted"] == "1");  // trace
  BOOST_TEST(h["streams.error.omitted_because"] == "larger than the fake sink's max_bytes");
  for (const auto& [name, value] : envelope.headers) BOOST_TEST(name != "trace");
}

BOOST_AUTO_TEST_CASE(a_dlq_that_refuses_the_record_stops_the_pipeline) {
  Dlq f(
      "  - {kind: map, name: boom, plugin: testkit, function: thrower}\n"
      "  - {kind: sink, name: out, stream_name: output}\n");
  f.dlq.result = pipeline::WriteResult::rejected;
  BOOST_TEST((f.run("x") == pipeline::ChainResult::fatal));
  Dlq g(
      "  - {kind: map, name: boom, plugin: testkit, function: thrower}\n"
      "  - {kind: sink, name: out, stream_name: output}\n");
  g.dlq.result = pipeline::WriteResult::stop;
  BOOST_TEST((g.run("x") == pipeline::ChainResult::fatal));
}

namespace {

// Counts errors and lets the pipeline go on.
struct Accept : pipeline::ErrorHandler {
  bool on_record_error(const pipeline::RecordError&) override {
    ++count;
    return true;
  }
  int count = 0;
};

pipeline::RecordError some_error() {
  static pipeline::StepBinding step;
  static const streams_origin origin{sizeof(streams_origin), "t", 0, 0};
  return {&step, STREAMS_ERR_PROCESSING, "bad", &origin, 0, nullptr, nullptr};
}

// Feeds `pattern` ('x' failed, '.' ok) and returns the 1-based input at
// which the limits stopped, or 0.
size_t stops_at(const config::ErrorLimits& limits, const std::string& pattern,
                std::string* why = nullptr) {
  Accept inner;
  pipeline::LimitedErrors errors(inner, limits);
  std::string reason;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == 'x') {
      BOOST_TEST(errors.on_record_error(some_error()));
      BOOST_TEST(errors.on_record_error(some_error()));  // two errors, one failed input
    }
    if (!errors.end_input(&reason)) {
      if (why) *why = reason;
      return i + 1;
    }
  }
  return 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(consecutive_failures_stop_at_the_limit_and_a_success_resets_the_count) {
  config::ErrorLimits limits;
  limits.max_consecutive_failures = 3;
  std::string why;
  BOOST_TEST(stops_at(limits, "xx.xx.xx.") == 0u);
  BOOST_TEST(stops_at(limits, "xx.xxx..", &why) == 6u);
  BOOST_TEST(why.find("3 inputs in a row failed") != std::string::npos);
  BOOST_TEST(why.find("max_consecutive_failures") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_failure_ratio_is_checked_over_a_full_window) {
  config::ErrorLimits limits;
  limits.max_failure_ratio = 0.5;
  limits.ratio_window = 4;
  std::string why;
  BOOST_TEST(stops_at(limits, "xx") == 0u);          // the window is not full yet
  BOOST_TEST(stops_at(limits, "x.x.x.x.x.") == 0u);  // exactly half is allowed
  BOOST_TEST(stops_at(limits, "x.xx", &why) == 4u);
  BOOST_TEST(why.find("3 of the last 4 inputs failed") != std::string::npos);
  BOOST_TEST(stops_at(config::ErrorLimits{}, std::string(5000, 'x')) == 0u);  // no limits
}
