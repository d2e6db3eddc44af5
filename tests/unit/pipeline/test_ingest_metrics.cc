// The example plugin through a real chain: what is kept, what is changed,
// and the reason given for each kind of invalid input.
#define BOOST_TEST_MODULE ingest_metrics
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "chain_fixture.h"

using namespace streams;
using namespace streams::testing;

namespace {

struct Example : ChainFixture {
  FakeSink& sink;

  Example()
      : ChainFixture(
            pipeline_yaml(
                "  - {kind: filter, name: filter, plugin: ingest_metrics, function: is_counter}\n"
                "  - {kind: map, name: transform, plugin: ingest_metrics, function: transform}\n"),
            PLUGINS_DIR),
        sink(*sinks.at(0)) {}

  void run(const std::string& value) {
    streams_record r{};
    r.struct_size = sizeof(r);
    r.value = view_bytes(value);
    BOOST_TEST((ChainFixture::run(r, 0, 1) == pipeline::ChainResult::ok));
  }

  std::string error_after(const std::string& value) {
    errors.seen.clear();
    run(value);
    BOOST_REQUIRE(errors.seen.size() == 1u);
    BOOST_TEST(errors.seen[0].kind == STREAMS_ERR_INVALID_INPUT);
    return errors.seen[0].message;
  }
};

nlohmann::json metric(const char* type) {
  return {{"org_id", 1},     {"project_id", 2},         {"name", "c:x@none"},
          {"type", type},    {"timestamp", 1846062325}, {"tags", {{"a", "b"}}},
          {"value", {1, 2}}, {"retention_days", 90}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(counters_pass_with_transformed_added) {
  Example ex;
  ex.run(metric("c").dump());
  ex.run(metric("d").dump());
  ex.run(metric("s").dump());
  BOOST_REQUIRE(ex.sink.written.size() == 1u);
  auto out = nlohmann::json::parse(ex.sink.written[0].value);
  BOOST_TEST(out["transformed"] == true);
  out.erase("transformed");
  BOOST_TEST(out == metric("c"));
}

BOOST_AUTO_TEST_CASE(an_existing_transformed_field_is_replaced_not_duplicated) {
  Example ex;
  auto in = metric("c");
  in["transformed"] = false;
  in["extra"] = {{"nested", "q\"uote"}};
  ex.run(in.dump());
  BOOST_REQUIRE(ex.sink.written.size() == 1u);
  const std::string& text = ex.sink.written[0].value;
  BOOST_TEST(text.find("\"transformed\"") == text.rfind("\"transformed\""), text);
  auto out = nlohmann::json::parse(text);
  in["transformed"] = true;
  BOOST_TEST(out == in);
}

// What the filter learnt of one record (it had "transformed") is not taken
// for the next's: the map, which takes the filter's parse, keeps the
// second record's bytes.
BOOST_AUTO_TEST_CASE(a_record_after_one_with_transformed_keeps_its_bytes) {
  Example ex;
  auto first = metric("c");
  first["transformed"] = false;
  ex.run(first.dump());
  const std::string second =
      R"({"org_id": 1, "project_id": 2, "name": "x", "tags": {},)"
      R"( "timestamp": 3, "type": "c", "retention_days": 4, "value": 1.5e3})";
  ex.run(second);
  BOOST_REQUIRE(ex.sink.written.size() == 2u);
  BOOST_TEST(ex.sink.written[1].value ==
             second.substr(0, second.size() - 1) + ",\"transformed\":true}");
}

BOOST_AUTO_TEST_CASE(invalid_input_says_why) {
  Example ex;
  BOOST_TEST(ex.error_after("{\"org_id\": ") == "not valid JSON");
  BOOST_TEST(ex.error_after("[1, 2]") == "not a JSON object");
  BOOST_TEST(ex.error_after("") == "not valid JSON");
  auto m = metric("c");
  m.erase("tags");
  BOOST_TEST(ex.error_after(m.dump()).find("missing field(s)") == 0u);
  m = metric("x");
  BOOST_TEST(ex.error_after(m.dump()) == "field type must be one of \"c\", \"d\", \"s\"");
  m = metric("c");
  m["org_id"] = "420";
  BOOST_TEST(ex.error_after(m.dump()).find("must be integers") != std::string::npos);
  m = metric("c");
  m["value"] = "1";
  BOOST_TEST(ex.error_after(m.dump()) == "field value must be a number or a list");
  BOOST_TEST(ex.sink.written.empty());
}
