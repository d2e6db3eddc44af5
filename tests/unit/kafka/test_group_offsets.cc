// Where `offsets reset` moves a partition: each target within the
// partition's records, a shift from the committed offset or, with none,
// from where the group starts.
#define BOOST_TEST_MODULE group_offsets
#include <boost/test/unit_test.hpp>

#include "kafka/group_offsets.h"

using namespace streams::kafka;

namespace {

// Records 100..199 on the broker; the group committed 150.
PartitionPosition at_150() {
  PartitionPosition p;
  p.partition = 3;
  p.committed = 150;
  p.low = 100;
  p.high = 200;
  return p;
}

}  // namespace

BOOST_AUTO_TEST_CASE(ends_and_offsets) {
  const PartitionPosition p = at_150();
  BOOST_TEST(reset_target(p, {ResetTo::earliest, 0}, -1, true) == 100);
  BOOST_TEST(reset_target(p, {ResetTo::latest, 0}, -1, true) == 200);
  BOOST_TEST(reset_target(p, {ResetTo::offset, 120}, -1, true) == 120);
  BOOST_TEST(reset_target(p, {ResetTo::offset, 5}, -1, true) == 100);    // deleted: the first
  BOOST_TEST(reset_target(p, {ResetTo::offset, 900}, -1, true) == 200);  // past the end
  BOOST_TEST(reset_target(p, {ResetTo::time, 0}, 170, true) == 170);     // what was found
}

BOOST_AUTO_TEST_CASE(shifts) {
  PartitionPosition p = at_150();
  BOOST_TEST(reset_target(p, {ResetTo::shift, -10}, -1, true) == 140);
  BOOST_TEST(reset_target(p, {ResetTo::shift, 10}, -1, false) == 160);
  BOOST_TEST(reset_target(p, {ResetTo::shift, -500}, -1, true) == 100);
  BOOST_TEST(reset_target(p, {ResetTo::shift, 500}, -1, true) == 200);
  p.committed = kNoOffset;  // from where the group starts
  BOOST_TEST(reset_target(p, {ResetTo::shift, 10}, -1, true) == 110);
  BOOST_TEST(reset_target(p, {ResetTo::shift, -10}, -1, false) == 190);
}

BOOST_AUTO_TEST_CASE(empty_partition) {
  PartitionPosition p;
  p.committed = kNoOffset;
  p.low = p.high = 40;
  for (auto kind : {ResetTo::earliest, ResetTo::latest, ResetTo::offset, ResetTo::shift}) {
    BOOST_TEST(reset_target(p, {kind, 3}, -1, true) == 40);
  }
}
