// The step graph: flat_map, header_filter, route and broadcast, each sink
// served by its own fake.
#define BOOST_TEST_MODULE graph
#include <boost/test/unit_test.hpp>

#include "chain_fixture.h"

using namespace streams;
using namespace streams::testing;

namespace {

streams_bytes bytes(std::string_view s) { return view_bytes(s); }

// A chain over `pipeline_text`; records have key "k" and token 42.
struct Graph : ChainFixture {
  using ChainFixture::ChainFixture;

  pipeline::ChainResult run(std::string_view value, std::vector<streams_header> headers = {},
                            int64_t offset = 5) {
    streams_record r{};
    r.struct_size = sizeof(r);
    r.key = bytes("k");
    r.value = bytes(value);
    r.headers = headers.data();
    r.header_count = headers.size();
    r.timestamp_ms = 1700000000000;
    return ChainFixture::run(r, offset, 42);
  }
};

using Values = std::vector<std::string>;

const char* kSource = "source: {name: in, stream_name: input}\nsteps:\n";

// Routes "a:..." to sink a_out as is and "b:..." upper-cased to b_out.
const std::string kRoute = std::string(kSource) +
                           "  - kind: route\n"
                           "    name: by\n"
                           "    plugin: testkit\n"
                           "    function: by_prefix\n"
                           "    branches:\n"
                           "      a: [{kind: sink, name: a_out, type: devnull}]\n"
                           "      b:\n"
                           "        - {kind: map, name: up, plugin: testkit, function: upper}\n"
                           "        - {kind: sink, name: b_out, type: devnull}\n";

}  // namespace

BOOST_AUTO_TEST_CASE(flat_map_emits_zero_or_more_and_each_continues) {
  Graph f(std::string(kSource) +
          "  - {kind: flat_map, name: split, plugin: testkit, function: split}\n"
          "  - {kind: map, name: up, plugin: testkit, function: upper}\n"
          "  - {kind: sink, name: out, type: devnull}\n");
  f.run("a,b,c");
  f.run("");
  BOOST_TEST(f.values(0) == (Values{"A", "B", "C"}));
  for (const auto& w : f.sinks[0]->written) {
    BOOST_TEST(w.key == "k");  // key and timestamp inherited through both steps
    BOOST_TEST(w.token == 42u);
  }
  BOOST_TEST(f.errors.seen.empty());
}

BOOST_AUTO_TEST_CASE(broadcast_sends_every_record_down_every_branch) {
  Graph f(std::string(kSource) +
          "  - kind: broadcast\n"
          "    name: fan\n"
          "    branches:\n"
          "      loud:\n"
          "        - {kind: map, name: up, plugin: testkit, function: upper}\n"
          "        - {kind: sink, name: loud_out, stream_name: loud}\n"
          "      quiet:\n"
          "        - {kind: sink, name: quiet_out, stream_name: quiet}\n");
  f.run("hello");
  f.run("bye");
  BOOST_TEST(f.values(0) == (Values{"HELLO", "BYE"}));
  BOOST_TEST(f.values(1) == (Values{"hello", "bye"}));
  // Both outputs carry the input's token: its offset waits for both.
  BOOST_TEST(f.sinks[0]->written[0].token == 42u);
  BOOST_TEST(f.sinks[1]->written[0].token == 42u);
}

BOOST_AUTO_TEST_CASE(route_sends_each_record_down_exactly_one_branch) {
  Graph f(kRoute);
  f.run("a:1");
  f.run("b:2");
  f.run("a:3");
  BOOST_TEST(f.values(0) == (Values{"a:1", "a:3"}));
  BOOST_TEST(f.values(1) == (Values{"B:2"}));
  BOOST_TEST(f.errors.seen.empty());
}

BOOST_AUTO_TEST_CASE(route_to_an_unknown_branch_or_none_is_an_error_of_the_record) {
  Graph f(kRoute);
  BOOST_TEST((f.run("zzz:1", {}, 8) == pipeline::ChainResult::ok));
  BOOST_TEST((f.run("no colon", {}, 9) == pipeline::ChainResult::ok));
  BOOST_TEST(f.values(0).empty());
  BOOST_TEST(f.values(1).empty());
  BOOST_REQUIRE(f.errors.seen.size() == 2u);
  BOOST_TEST(f.errors.seen[0].step == "by");
  BOOST_TEST(f.errors.seen[0].offset == 8);
  BOOST_TEST(f.errors.seen[0].message == "route chose branch 'zzz'; the branches are 'a', 'b'");
  BOOST_TEST(f.errors.seen[1].kind == STREAMS_ERR_CONTRACT);
  BOOST_TEST(f.errors.seen[1].message == "route chose no branch");
}

BOOST_AUTO_TEST_CASE(header_filter_keeps_matching_records) {
  Graph f(std::string(kSource) +
          "  - {kind: header_filter, name: only_eu, header: region, value: eu}\n"
          "  - {kind: sink, name: out, type: devnull}\n");
  f.run("1", {{bytes("region"), bytes("eu")}});
  f.run("2", {{bytes("region"), bytes("us")}});
  f.run("3", {});
  f.run("4", {{bytes("other"), bytes("eu")}, {bytes("region"), bytes("eu")}});
  BOOST_TEST(f.values(0) == (Values{"1", "4"}));
  BOOST_TEST(f.errors.seen.empty());
  BOOST_TEST(f.sinks[0]->written[1].headers.size() == 2u);  // headers flow on
}

BOOST_AUTO_TEST_CASE(header_filter_reports_a_malformed_value) {
  Graph f(std::string(kSource) +
          "  - {kind: header_filter, name: only_eu, header: region, value: eu}\n"
          "  - {kind: sink, name: out, type: devnull}\n");
  f.run("1", {{bytes("region"), bytes("\xff\xfe")}}, 11);
  f.run("2", {{bytes("region"), {nullptr, 0}}}, 12);
  BOOST_TEST(f.values(0).empty());
  BOOST_REQUIRE(f.errors.seen.size() == 2u);
  BOOST_TEST(f.errors.seen[0].kind == STREAMS_ERR_INVALID_INPUT);
  BOOST_TEST(f.errors.seen[0].message == "header 'region' is not valid UTF-8; expected text");
  BOOST_TEST(f.errors.seen[0].offset == 11);
  BOOST_TEST(f.errors.seen[1].message == "header 'region' is null; expected text");
}

BOOST_AUTO_TEST_CASE(a_failing_branch_does_not_stop_the_others) {
  Graph f(std::string(kSource) +
          "  - kind: broadcast\n"
          "    name: fan\n"
          "    branches:\n"
          "      bad:\n"
          "        - {kind: map, name: t, plugin: testkit, function: thrower}\n"
          "        - {kind: sink, name: bad_out, type: devnull}\n"
          "      good: [{kind: sink, name: good_out, type: devnull}]\n");
  BOOST_TEST((f.run("x") == pipeline::ChainResult::ok));
  BOOST_TEST(f.values(0).empty());
  BOOST_TEST(f.values(1) == (Values{"x"}));
  BOOST_REQUIRE(f.errors.seen.size() == 1u);
  BOOST_TEST(f.errors.seen[0].step == "t");
}

BOOST_AUTO_TEST_CASE(a_sink_failure_in_one_branch_stops_the_pipeline) {
  Graph f(std::string(kSource) +
          "  - kind: broadcast\n"
          "    name: fan\n"
          "    branches:\n"
          "      one: [{kind: sink, name: one_out, type: devnull}]\n"
          "      two: [{kind: sink, name: two_out, type: devnull}]\n");
  f.sinks[0]->result = pipeline::WriteResult::stop;
  BOOST_TEST((f.run("x") == pipeline::ChainResult::fatal));
  BOOST_TEST(f.values(1).empty());
}
