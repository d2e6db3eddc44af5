// The SDK's test driver (streams/test_driver.hpp) as a plugin author uses it:
// no host code linked in, plugins loaded from their .so files.
#define BOOST_TEST_MODULE sdk_driver
#include <boost/test/unit_test.hpp>
#include <streams/test_driver.hpp>

namespace td = streams::test_driver;
using streams::Status;

namespace {

td::Library& testkit() {
  static td::Library lib(TEST_PLUGINS_DIR "/testkit.so");
  return lib;
}

}  // namespace

BOOST_AUTO_TEST_CASE(map_output_inherits_key_headers_and_timestamp) {
  td::FunctionDriver upper(testkit().plugin(), "upper");
  td::Input in = td::value("abc");
  in.key = "k";
  in.headers = {{"trace", "t1"}};
  in.timestamp_ms = 1234;
  td::Result r = upper.process(in);
  BOOST_TEST((r.status == Status::ok));
  BOOST_REQUIRE(r.outputs.size() == 1u);
  BOOST_TEST(*r.outputs[0].value == "ABC");
  BOOST_TEST(*r.outputs[0].key == "k");
  BOOST_TEST(r.outputs[0].headers == (td::Headers{{"trace", "t1"}}));
  BOOST_TEST(r.outputs[0].timestamp_ms == 1234);
  BOOST_TEST(r.contract_error.empty());
}

BOOST_AUTO_TEST_CASE(flat_map_route_and_filter) {
  td::FunctionDriver split(testkit().plugin(), "split");
  BOOST_TEST(split.process(td::value("a,b,c")).outputs.size() == 3u);
  BOOST_TEST(split.process(td::value("")).outputs.empty());

  td::FunctionDriver route(testkit().plugin(), "by_prefix");
  BOOST_TEST(*route.process(td::value("eu:1")).branch == "eu");
  BOOST_TEST(route.process(td::value("none")).contract_error == "a route must choose a branch");

  td::FunctionDriver filter(testkit().plugin(), "starts_with_a");
  BOOST_TEST((filter.process(td::value("apple")).status == Status::keep));
  BOOST_TEST((filter.process(td::value("pear")).status == Status::drop));
  td::Result bad = filter.process(td::Input{});  // null value
  BOOST_TEST((bad.status == Status::error));
  BOOST_TEST(bad.error_kind == STREAMS_ERR_INVALID_INPUT);
  BOOST_TEST(bad.error_message == "empty value");
}

BOOST_AUTO_TEST_CASE(counters_are_kept_by_name) {
  td::FunctionDriver counted(testkit().plugin(), "counted");
  counted.process(td::value("ab"));
  counted.process(td::value("cde"));
  const std::map<std::string, uint64_t> expected{{"records", 2}, {"value_bytes", 5}};
  BOOST_TEST((counted.counters() == expected));  // "Not-A-Name" refused, as the host does
  // ABI 1.12: the gauges' values and every value each histogram observed
  // (the driver does not check one kind a name: "records_total" is a gauge).
  const std::map<std::string, double> gauges{
      {"instances", 1}, {"last_value_bytes", 3}, {"records_total", 1}};
  BOOST_TEST((counted.gauges() == gauges));
  const std::map<std::string, std::vector<double>> observed{{"value_sizes", {2, 3}}};
  BOOST_TEST((counted.observed() == observed));
}

BOOST_AUTO_TEST_CASE(contract_breaks_and_exceptions_are_reported) {
  td::FunctionDriver twice(testkit().plugin(), "twice");
  BOOST_TEST(twice.process(td::value("x")).contract_error ==
             "a map emits exactly one record; this one emitted 2");
  td::FunctionDriver thrower(testkit().plugin(), "thrower");
  td::Result r = thrower.process(td::value("x"));
  BOOST_TEST(r.error_kind == STREAMS_ERR_EXCEPTION);
  BOOST_TEST(r.error_message == "boom");
}

BOOST_AUTO_TEST_CASE(config_reaches_the_instance_and_refusals_throw) {
  td::FunctionDriver with(testkit().plugin(), "with_config", R"({"limit":5})");
  BOOST_TEST(*with.process(td::value("v")).outputs.at(0).value == R"(v{"limit":5})");
  BOOST_CHECK_THROW(td::FunctionDriver(testkit().plugin(), "nope"), std::runtime_error);
  td::Library failing(TEST_PLUGINS_DIR "/failing_init.so");
  try {
    td::FunctionDriver d(failing.plugin(), "strict");
    BOOST_FAIL("expected the instance creation to fail");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()) ==
               "function 'strict' failed to initialise: config.threshold is required");
  }
  td::FunctionDriver strict(failing.plugin(), "strict", R"({"threshold": 1})");
  BOOST_TEST(*strict.process(td::value("x")).outputs.at(0).value == "x");
  BOOST_CHECK_THROW(td::Library(TEST_PLUGINS_DIR "/no_entry.so"), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(the_example_plugin_through_the_driver) {
  td::Library lib(PLUGINS_DIR "/ingest_metrics.so");
  td::FunctionDriver is_counter(lib.plugin(), "is_counter");
  td::FunctionDriver transform(lib.plugin(), "transform");
  const std::string counter =
      R"({"org_id": 1, "project_id": 2, "name": "c:x", "tags": {}, "timestamp": 5, )"
      R"("type": "c", "retention_days": 90, "value": [1]})";
  BOOST_TEST((is_counter.process(td::value(counter)).status == Status::keep));
  td::Result out = transform.process(td::value(counter));
  BOOST_REQUIRE(out.outputs.size() == 1u);
  BOOST_TEST(out.outputs[0].value->find(R"("transformed":true)") != std::string::npos);
  td::Result bad = is_counter.process(td::value("{"));
  BOOST_TEST(bad.error_kind == STREAMS_ERR_INVALID_INPUT);
  BOOST_TEST(bad.error_message == "not valid JSON");
}

// The driver keeps a function's state (as if its step declared `state:`):
// a stateful plugin is tested without a host.
BOOST_AUTO_TEST_CASE(state_is_kept_between_calls_and_can_be_seeded) {
  td::Library lib(PLUGINS_DIR "/examples.so");
  td::FunctionDriver count(lib.plugin(), "running_count");
  td::Input in = td::value("x");
  in.key = "a";
  BOOST_TEST(count.process(in).outputs.at(0).value.value() == R"({"count":1,"key":"a"})");
  BOOST_TEST(count.process(in).outputs.at(0).value.value() == R"({"count":2,"key":"a"})");
  BOOST_TEST(count.state().at("a") == "2");
  count.state()["b"] = "41";
  in.key = "b";
  BOOST_TEST(count.process(in).outputs.at(0).value.value() == R"({"count":42,"key":"b"})");

  td::FunctionDriver dedup(lib.plugin(), "dedup");
  BOOST_TEST((dedup.process(td::value(R"({"id": 7})")).status == Status::keep));
  BOOST_TEST((dedup.process(td::value(R"({"id": 7})")).status == Status::drop));
  BOOST_TEST((dedup.process(td::value(R"({"id": 8})")).status == Status::keep));
}

// A function's migrate (ABI 1.5) is testable without a host.
BOOST_AUTO_TEST_CASE(migrate_converts_erases_or_fails) {
  td::FunctionDriver v2(testkit().plugin(), "state_ops_v2");
  BOOST_TEST(v2.state_version() == 2u);
  BOOST_TEST(v2.migrate(1, "one").value_or("(erased)") == "one@v1");
  BOOST_TEST(!v2.migrate(0, "gone"));
  BOOST_CHECK_EXCEPTION(v2.migrate(0, "broken"), std::runtime_error,
                        [](const std::runtime_error& e) {
                          return std::string(e.what()).find("cannot convert") != std::string::npos;
                        });
  td::FunctionDriver v0(testkit().plugin(), "state_ops");
  BOOST_TEST(v0.state_version() == 0u);
  BOOST_CHECK_THROW(v0.migrate(0, "x"), std::runtime_error);
}
