// The control topic's records: what `pause --config` and the hosts write,
// read back as written; records of other kinds, or unreadable, are skipped;
// the drained reports' cover of a topic's partitions.
#define BOOST_TEST_MODULE control_topic
#include <boost/test/unit_test.hpp>

#include "kafka/control_topic.h"

using namespace streams::kafka;

BOOST_AUTO_TEST_CASE(a_pause_record_reads_back_as_written) {
  const ControlRecord r =
      decode(pause_key("pipeline-in"), encode(PauseRecord{true, "ops@box", 1700000000000}), 42);
  BOOST_TEST(r.kind == ControlRecord::pause_record);
  BOOST_TEST(r.group == "pipeline-in");
  BOOST_TEST(r.pause.paused);
  BOOST_TEST(r.pause.by == "ops@box");
  BOOST_TEST(r.pause.at_ms == 1700000000000);
  BOOST_TEST(r.pause.offset == 42);
  BOOST_TEST(!decode(pause_key("g"), encode(PauseRecord{false, "x", 1}), 0).pause.paused);
}

BOOST_AUTO_TEST_CASE(a_drained_report_names_its_group_member_and_pause) {
  // A group name may hold '/': the member is what follows the last one.
  const ControlRecord r =
      decode(drained_key("team/pipeline-in", "pod-1:1"), encode(DrainedRecord{7, {0, 3}}), 9);
  BOOST_TEST(r.kind == ControlRecord::drained_record);
  BOOST_TEST(r.group == "team/pipeline-in");
  BOOST_TEST(r.member == "pod-1:1");
  BOOST_TEST(r.drained.pause_offset == 7);
  BOOST_TEST((r.drained.partitions == std::vector<int32_t>{0, 3}));
}

BOOST_AUTO_TEST_CASE(records_not_understood_are_skipped) {
  BOOST_TEST(decode("pause/g", "not json", 0).kind == ControlRecord::unknown);
  BOOST_TEST(decode("pause/g", R"({"paused": "yes"})", 0).kind == ControlRecord::unknown);
  BOOST_TEST(decode("drained/g", R"({"partitions": [1]})", 0).kind == ControlRecord::unknown);
  BOOST_TEST(decode("resize/g", R"({"paused": true})", 0).kind == ControlRecord::unknown);
}

BOOST_AUTO_TEST_CASE(reports_cover_a_topic_together) {
  const std::vector<int32_t> all{0, 1, 2, 3};
  BOOST_TEST((not_covered(all, {}) == all));
  BOOST_TEST((not_covered(all, {{1, {0, 1}}, {1, {}}}) == std::vector<int32_t>{2, 3}));
  BOOST_TEST(not_covered(all, {{1, {0, 1}}, {1, {3, 2}}}).empty());
}
