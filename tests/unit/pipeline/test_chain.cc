#define BOOST_TEST_MODULE chain
#include <boost/test/unit_test.hpp>

#include "chain_fixture.h"

using namespace streams;
using namespace streams::testing;

namespace {

struct Input {
  std::string key = "key1";
  std::string value;
  std::vector<streams_header> headers;
  int64_t timestamp_ms = 1700000000000;
  int64_t offset = 7;
};

Input input(const std::string& value, int64_t offset = 7) {
  Input in;
  in.value = value;
  in.offset = offset;
  return in;
}

// A chain over the testkit plugin with `steps_yaml` before the sink.
struct Fixture : ChainFixture {
  FakeSink& sink;

  explicit Fixture(const std::string& steps_yaml)
      : ChainFixture(pipeline_yaml(steps_yaml)), sink(*sinks.at(0)) {}

  pipeline::ChainResult run(const Input& in, uint64_t token = 99) {
    streams_record r{};
    r.struct_size = sizeof(r);
    r.key = view_bytes(in.key);
    r.value = view_bytes(in.value);
    r.headers = in.headers.data();
    r.header_count = in.headers.size();
    r.timestamp_ms = in.timestamp_ms;
    return ChainFixture::run(r, in.offset, token);
  }
};

std::string step(const std::string& kind, const std::string& name, const std::string& fn) {
  return "  - {kind: " + kind + ", name: " + name + ", plugin: testkit, function: " + fn + "}\n";
}

streams_bytes bytes(const char* s) { return {reinterpret_cast<const uint8_t*>(s), std::strlen(s)}; }

}  // namespace

BOOST_AUTO_TEST_CASE(filter_then_map) {
  Fixture f(step("filter", "only_a", "starts_with_a") + step("map", "up", "upper"));
  BOOST_TEST((f.run(input("apple")) == pipeline::ChainResult::ok));
  BOOST_TEST((f.run(input("banana")) == pipeline::ChainResult::ok));
  BOOST_REQUIRE(f.sink.written.size() == 1u);
  BOOST_TEST(f.sink.written[0].value == "APPLE");
  BOOST_TEST(f.sink.written[0].token == 99u);
  BOOST_TEST(f.errors.seen.empty());
}

// share/shared (ABI 1.8): the next step on the same record gets what the
// step before it shared; a new record (a map's or flat_map's output), a
// step in between, or the next input does not.
BOOST_AUTO_TEST_CASE(a_step_gets_what_the_step_before_shared_on_the_same_record) {
  Fixture next(step("filter", "s", "sharer") + step("map", "r", "share_reader"));
  next.run(input("apple"));
  next.run(input("noshare"));  // the input before shared: not seen here
  BOOST_TEST(next.values(0) == (std::vector<std::string>{"seen:apple", "none:noshare"}),
             boost::test_tools::per_element());

  Fixture new_record(step("filter", "s", "sharer") + step("map", "u", "upper") +
                     step("map", "r", "share_reader"));
  new_record.run(input("apple"));
  Fixture between(step("filter", "s", "sharer") + step("filter", "a", "starts_with_a") +
                  step("map", "r", "share_reader"));
  between.run(input("apple"));
  BOOST_TEST(new_record.values(0) == (std::vector<std::string>{"none:APPLE"}),
             boost::test_tools::per_element());
  BOOST_TEST(between.values(0) == (std::vector<std::string>{"none:apple"}),
             boost::test_tools::per_element());

  // Each output of a flat_map is a record of its own (the host builds them
  // in one place): the second does not see the first's.
  Fixture parts(step("flat_map", "p", "split") + step("filter", "s", "sharer") +
                step("map", "r", "share_reader"));
  parts.run(input("x,y,noshare"));
  BOOST_TEST(parts.values(0) == (std::vector<std::string>{"seen:x", "seen:y", "none:noshare"}),
             boost::test_tools::per_element());
  BOOST_TEST(parts.errors.seen.empty());
}

BOOST_AUTO_TEST_CASE(key_headers_and_timestamp_flow_through) {
  Fixture f(step("map", "up", "upper"));
  Input in = input("x");
  in.headers.push_back({bytes("trace"), bytes("abc")});
  in.headers.push_back({bytes("empty"), {reinterpret_cast<const uint8_t*>(""), 0}});
  f.run(in);
  BOOST_REQUIRE(f.sink.written.size() == 1u);
  const auto& w = f.sink.written[0];
  BOOST_TEST(w.key == "key1");
  BOOST_TEST(w.timestamp_ms == in.timestamp_ms);
  BOOST_REQUIRE(w.headers.size() == 2u);
  BOOST_TEST(w.headers[0].first == "trace");
  BOOST_TEST(w.headers[0].second == "abc");
  BOOST_TEST(w.headers[1].first == "empty");
}

BOOST_AUTO_TEST_CASE(a_step_may_replace_key_and_headers) {
  Fixture f(step("map", "rk", "rekey"));
  Input in = input("v");
  in.headers.push_back({bytes("trace"), bytes("abc")});
  f.run(in);
  BOOST_REQUIRE(f.sink.written.size() == 1u);
  BOOST_TEST(f.sink.written[0].key == "k:v");
  BOOST_TEST(f.sink.written[0].headers.empty());
  BOOST_TEST(f.sink.written[0].timestamp_ms == in.timestamp_ms);
}

BOOST_AUTO_TEST_CASE(record_errors_are_reported_and_skipped) {
  Fixture f(step("filter", "only_a", "starts_with_a") + step("map", "up", "upper"));
  BOOST_TEST((f.run(input("", 41)) == pipeline::ChainResult::ok));
  BOOST_TEST(f.sink.written.empty());
  BOOST_REQUIRE(f.errors.seen.size() == 1u);
  BOOST_TEST(f.errors.seen[0].step == "only_a");
  BOOST_TEST(f.errors.seen[0].plugin_version == "2.3.4");
  BOOST_TEST(f.errors.seen[0].kind == STREAMS_ERR_INVALID_INPUT);
  BOOST_TEST(f.errors.seen[0].message == "empty value");
  BOOST_TEST(f.errors.seen[0].offset == 41);
}

BOOST_AUTO_TEST_CASE(exceptions_become_record_errors) {
  Fixture f(step("map", "t", "thrower"));
  BOOST_TEST((f.run(input("x")) == pipeline::ChainResult::ok));
  BOOST_REQUIRE(f.errors.seen.size() == 1u);
  BOOST_TEST(f.errors.seen[0].kind == STREAMS_ERR_EXCEPTION);
  BOOST_TEST(f.errors.seen[0].message == "boom");
}

BOOST_AUTO_TEST_CASE(error_handler_can_stop_the_pipeline) {
  Fixture f(step("map", "t", "thrower"));
  f.errors.keep_going = false;
  BOOST_TEST((f.run(input("x")) == pipeline::ChainResult::fatal));
}

BOOST_AUTO_TEST_CASE(fatal_status_stops) {
  Fixture f(step("map", "f", "fatal") + step("map", "up", "upper"));
  BOOST_TEST((f.run(input("x")) == pipeline::ChainResult::fatal));
  BOOST_TEST(f.sink.written.empty());
}

BOOST_AUTO_TEST_CASE(a_map_emitting_twice_breaks_the_contract) {
  Fixture f(step("map", "tw", "twice"));
  f.run(input("x"));
  BOOST_TEST(f.sink.written.size() == 1u);  // the second emit was refused
  BOOST_REQUIRE(f.errors.seen.size() == 1u);
  BOOST_TEST(f.errors.seen[0].kind == STREAMS_ERR_CONTRACT);
  BOOST_TEST(f.errors.seen[0].message ==
             "map emitted 2 records; a map emits exactly one, a filter and a route none");
}

BOOST_AUTO_TEST_CASE(sink_failure_is_fatal) {
  Fixture f(step("map", "up", "upper"));
  f.sink.result = pipeline::WriteResult::stop;
  BOOST_TEST((f.run(input("x")) == pipeline::ChainResult::fatal));
}

BOOST_AUTO_TEST_CASE(step_config_reaches_the_instance) {
  Fixture f(
      "  - {kind: map, name: c, plugin: testkit, function: with_config, config: {limit: 5}}\n");
  f.run(input("v"));
  BOOST_REQUIRE(f.sink.written.size() == 1u);
  BOOST_TEST(f.sink.written[0].value == R"(v{"limit":5})");
}

// ABI misuse by a plugin is a contract error of the record it was working
// on; nothing is read through the bad pointers, and the pipeline goes on.
BOOST_AUTO_TEST_SUITE(abi_misuse)

std::string abuse(const char* function, int records = 1) {
  ChainFixture f(std::string("source: {name: in, stream_name: input}\nsteps:\n") +
                 "  - {kind: map, name: m, plugin: abuser, function: " + function + "}\n" +
                 "  - {kind: sink, name: out, stream_name: output}\n");
  std::string out;
  for (int i = 0; i < records; ++i) {
    streams_record r{};
    r.struct_size = sizeof(r);
    r.value = view_bytes("v");
    BOOST_TEST((f.run(r, i, i + 1) == pipeline::ChainResult::ok));
  }
  for (const auto& e : f.errors.seen) {
    out += std::to_string(e.offset) + " " + std::to_string(e.kind) + " " + e.message + "\n";
  }
  out += "written " + std::to_string(f.sinks[0]->written.size());
  return out;
}

BOOST_AUTO_TEST_CASE(bad_pointers_and_stale_calls_are_contract_errors) {
  const std::string contract = std::to_string(STREAMS_ERR_CONTRACT) + " ";
  BOOST_TEST(abuse("null_value") ==
             "0 " + contract + "emit: the value is NULL with a size, or larger than 1 GiB\n" +
                 "written 0");
  BOOST_TEST(abuse("null_error") == "0 " + contract +
                                        "set_error: the message is NULL with a size, or longer "
                                        "than 64 KiB\nwritten 0");
  BOOST_TEST(abuse("stale_call", 2) ==
             "1 " + contract +
                 "a host callback was given a call that has ended (a streams_call kept from an "
                 "earlier call)\nwritten 1");  // then its emit through the current call is
                                               // refused: a failed input's outputs stop there
}

BOOST_AUTO_TEST_CASE(a_create_error_without_its_nul_is_read_to_the_buffer_end) {
  TempDir dir;
  config::Diagnostics diag;
  auto g = build_pipeline(dir,
                          "source: {name: in, stream_name: input}\nsteps:\n"
                          "  - {kind: map, name: m, plugin: abuser, function: unterminated}\n"
                          "  - {kind: sink, name: out, stream_name: output}\n",
                          TEST_PLUGINS_DIR, diag);
  BOOST_TEST(!g);
  const std::string errors = all_errors(diag);
  BOOST_TEST(errors.find(std::string(2048, 'x')) != std::string::npos, errors);
  BOOST_TEST(errors.find(std::string(2049, 'x')) == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// Batches read the chain's clock when a record arrives, and tick() says what
// time it is: with a test's clock, max_wait_ms is exact to the millisecond.
namespace {
int64_t fake_now_ms = 0;
int64_t fake_clock() { return fake_now_ms; }
}  // namespace

BOOST_AUTO_TEST_CASE(batches_age_by_the_chains_clock) {
  Fixture f("  - {kind: batch, name: b, max_wait_ms: 500}\n");
  f.chain->set_clock(fake_clock);
  fake_now_ms = 1000;
  BOOST_REQUIRE(f.run(input("1")) == pipeline::ChainResult::ok);
  fake_now_ms = 1200;
  BOOST_REQUIRE(f.run(input("2", 8)) == pipeline::ChainResult::ok);
  BOOST_REQUIRE(f.chain->tick(1499) == pipeline::ChainResult::ok);
  BOOST_TEST(f.sink.written.empty());
  BOOST_REQUIRE(f.chain->tick(1500) == pipeline::ChainResult::ok);
  BOOST_REQUIRE(f.sink.written.size() == 1u);
  BOOST_TEST(f.sink.written[0].value == "[1,2]");
}

// What another thread read from the processing thread's InFlight (a stall
// report, the health check) stays readable after the Chain and its
// Generation are gone: step labels are interned for the process's life.
BOOST_AUTO_TEST_CASE(a_step_label_outlives_its_chain) {
  const crash::StepLabel* seen = nullptr;
  {
    Fixture f(step("map", "up", "upper"));
    seen = &f.chain->label(0);
  }  // the Chain and its Generation are destroyed
  BOOST_TEST(std::string(seen->name) == "up");
  BOOST_TEST(std::string(seen->plugin) == "testkit");
  BOOST_TEST(seen == crash::intern_label("up", "testkit", seen->version));
  BOOST_TEST(crash::intern("rl-in") == crash::intern(std::string("rl-") + "in"));
}
