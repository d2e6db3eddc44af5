// The `dlq` tools' decisions from a record's headers: what replay does with
// it, and how show prints it (a line, a JSON object).
#define BOOST_TEST_MODULE dlq_tools
#include <librdkafka/rdkafka.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "kafka/dlq_replay.h"
#include "kafka/dlq_show.h"

using namespace streams::kafka;

namespace {

HeaderList failed(const std::string& step, const std::string& kind) {
  return {{"trace", "t1"},
          {"streams.error.step", step},
          {"streams.error.kind", kind},
          {"streams.error.message", "refused\nsecond line"},
          {"streams.error.topic", "in"},
          {"streams.error.partition", "2"},
          {"streams.error.offset", "7"},
          {"streams.error.time_ms", "0"},
          {"streams.error.record", "input"}};
}

rd_kafka_message_t message(const std::string& value, const char* key = nullptr) {
  rd_kafka_message_t m{};
  m.partition = 1;
  m.offset = 40;
  m.payload = const_cast<char*>(value.data());
  m.len = value.size();
  m.key = const_cast<char*>(key);
  m.key_len = key ? std::char_traits<char>::length(key) : 0;
  return m;
}

}  // namespace

BOOST_AUTO_TEST_CASE(replay_picks_by_kind_and_step_and_strips_error_headers) {
  ReplayOptions o;
  ReplayPlan p = plan_replay(failed("check", "processing"), o);
  BOOST_TEST((p.replay && p.topic == "in"));
  o.kinds = {"invalid_input"};
  BOOST_TEST(plan_replay(failed("check", "processing"), o).skipped == "of other kinds");
  o.kinds.clear();
  o.steps = {"parse"};
  BOOST_TEST(plan_replay(failed("check", "processing"), o).skipped == "of other steps");
  BOOST_TEST(plan_replay({{"trace", "t"}}, {}).skipped == "without error headers");
  const HeaderList kept = strip_error_headers(failed("check", "processing"));
  BOOST_TEST_REQUIRE(kept.size() == 1u);
  BOOST_TEST(kept[0].first == "trace");
}

BOOST_AUTO_TEST_CASE(show_prints_where_why_and_the_values_start) {
  const std::string value = "{\"n\": 3}";
  const rd_kafka_message_t m = message(value);
  BOOST_TEST(describe_dead_letter("dlq", m, failed("check", "processing")) ==
             "dlq[1]@40  from in[2]@7  step check  processing  1970-01-01T00:00:00.000Z  "
             "\"refused\"  value \"{\\\"n\\\": 3}\"");
  const std::string long_value(100, 'x');
  const std::string line = describe_dead_letter("dlq", message(long_value), {});
  BOOST_TEST(line == "dlq[1]@40  (no error headers)  value \"" + std::string(60, 'x') +
                         "\"... (100 bytes)");
  HeaderList omitted = failed("out", "sink_rejected");
  omitted.push_back({"streams.error.value_omitted", "5000000"});
  omitted.push_back({"streams.error.omitted_because", "too large"});
  BOOST_TEST(
      describe_dead_letter("dlq", m, omitted).find("value omitted (5000000 bytes: too large)") !=
      std::string::npos);
}

BOOST_AUTO_TEST_CASE(show_as_json_names_the_error_fields_and_keeps_bytes) {
  const std::string value = "\xff\x01";
  const nlohmann::json j = dead_letter_json(message(value, "k"), failed("check", "exception"));
  BOOST_TEST(j["dlq_offset"] == 40);
  BOOST_TEST(j["step"] == "check");
  BOOST_TEST(j["offset"] == 7);  // a number
  BOOST_TEST(j["message"] == "refused\nsecond line");
  BOOST_TEST(j["key"] == "k");
  BOOST_TEST(j["value_hex"] == "ff01");  // not UTF-8
  BOOST_TEST(!j.contains("value"));
  BOOST_TEST(j["headers"] == nlohmann::json({{"trace", "t1"}}));
}
