#define BOOST_TEST_MODULE offset_tracker
#include <boost/test/unit_test.hpp>

#include "pipeline/offset_tracker.h"

using streams::pipeline::OffsetTracker;

BOOST_AUTO_TEST_CASE(nothing_committable_before_completion) {
  OffsetTracker t(8);
  BOOST_TEST(t.committable() == -1);
  uint32_t s = t.begin(10);
  BOOST_TEST(t.committable() == -1);
  t.release(s);
  BOOST_TEST(t.committable() == 11);
  BOOST_TEST(t.in_flight() == 0u);
}

BOOST_AUTO_TEST_CASE(an_incomplete_offset_holds_back_later_ones) {
  OffsetTracker t(8);
  uint32_t a = t.begin(0);
  uint32_t b = t.begin(1);
  uint32_t c = t.begin(2);
  t.release(b);
  t.release(c);
  BOOST_TEST(t.committable() == -1);
  t.release(a);
  BOOST_TEST(t.committable() == 3);
}

BOOST_AUTO_TEST_CASE(outputs_hold_their_input_until_acknowledged) {
  OffsetTracker t(8);
  uint32_t s = t.begin(5);
  t.hold(s);  // two outputs produced
  t.hold(s);
  t.release(s);  // processing finished
  BOOST_TEST(t.committable() == -1);
  t.release(s);  // first delivery report
  BOOST_TEST(t.committable() == -1);
  t.release(s);  // second
  BOOST_TEST(t.committable() == 6);
}

BOOST_AUTO_TEST_CASE(gaps_in_offsets_commit_past_the_last_completed) {
  OffsetTracker t(4);
  t.release(t.begin(100));
  t.release(t.begin(250));  // compacted topic: offsets jump
  BOOST_TEST(t.committable() == 251);
}

BOOST_AUTO_TEST_CASE(full_pool_refuses_until_an_input_completes) {
  OffsetTracker t(4);
  uint32_t slots[4];
  for (int i = 0; i < 4; ++i) slots[i] = t.begin(i);
  BOOST_TEST(t.full());
  t.release(slots[3]);  // the newest completing frees its slot, commits nothing
  BOOST_TEST(!t.full());
  BOOST_TEST(t.committable() == -1);
  slots[3] = t.begin(4);
  t.release(slots[0]);
  BOOST_TEST(t.committable() == 1);
  t.release(slots[1]);
  t.release(slots[2]);
  BOOST_TEST(t.committable() == 4);  // offset 4 is still in flight
  t.release(slots[3]);
  BOOST_TEST(t.committable() == 5);
  BOOST_TEST(t.in_flight() == 0u);
}

BOOST_AUTO_TEST_CASE(a_long_hold_blocks_commits_but_not_capacity) {
  OffsetTracker t(2);
  uint32_t held = t.begin(0);
  t.hold(held);  // e.g. an open batch containing offset 0
  t.release(held);
  for (int64_t offset = 1; offset < 1000; ++offset) {
    BOOST_TEST_REQUIRE(!t.full());
    t.release(t.begin(offset));
    BOOST_TEST_REQUIRE(t.committable() == -1);
  }
  BOOST_TEST(t.in_flight() == 1u);
  t.release(held);  // the batch's output was delivered
  BOOST_TEST(t.committable() == 1000);
}

BOOST_AUTO_TEST_CASE(completing_in_the_middle_keeps_the_order) {
  OffsetTracker t(8);
  uint32_t a = t.begin(10), b = t.begin(11), c = t.begin(12), d = t.begin(13);
  t.release(c);
  t.release(a);
  BOOST_TEST(t.committable() == 11);
  t.release(d);
  BOOST_TEST(t.committable() == 11);
  t.release(b);
  BOOST_TEST(t.committable() == 14);
}

BOOST_AUTO_TEST_CASE(slots_are_reused_across_many_wraps) {
  OffsetTracker t(4);
  uint32_t older = t.begin(0);
  for (int64_t offset = 1; offset < 10000; ++offset) {
    uint32_t s = t.begin(offset);
    t.release(older);
    BOOST_TEST_REQUIRE(t.committable() == offset);
    older = s;
  }
  t.release(older);
  BOOST_TEST(t.committable() == 10000);
}

BOOST_AUTO_TEST_CASE(in_flight_bytes_count_the_incomplete_inputs) {
  OffsetTracker t(8);
  uint32_t a = t.begin(0, 100);
  uint32_t b = t.begin(1, 20);
  t.hold(a);
  BOOST_TEST(t.in_flight_bytes() == 120u);
  t.release(a);  // still held by an output
  t.release(b);
  BOOST_TEST(t.in_flight_bytes() == 100u);
  t.release(a);
  BOOST_TEST(t.in_flight_bytes() == 0u);
}

// A barrier at the next offset stands in for an input between inputs: what
// holds it keeps every later offset uncommitted; the input at its offset
// still begins, and a barrier before any input changes nothing.
BOOST_AUTO_TEST_CASE(a_barrier_caps_the_commit_at_its_offset) {
  OffsetTracker t(8);
  const uint32_t early = t.begin_barrier(5);
  t.release(early);
  BOOST_TEST(t.committable() == -1);
  t.release(t.begin(5));
  BOOST_TEST(t.committable() == 6);
  const uint32_t barrier = t.begin_barrier(6);
  t.hold(barrier);  // an output emitted under it
  t.release(barrier);
  BOOST_TEST(t.committable() == 6);
  t.release(t.begin(6));
  t.release(t.begin(7));
  BOOST_TEST(t.committable() == 6);
  BOOST_TEST(t.last_begun() == 7);
  t.release(barrier);  // the output acknowledged
  BOOST_TEST(t.committable() == 8);
}

BOOST_AUTO_TEST_CASE(committable_timestamp_is_the_newest_complete_inputs) {
  OffsetTracker t(8);
  BOOST_TEST(t.committable_timestamp() == -1);
  const uint32_t a = t.begin(0, 0, 1000);
  const uint32_t b = t.begin(1, 0, 2000);
  const uint32_t c = t.begin(2, 0, 3000);
  t.release(b);  // completes out of order: nothing committable yet
  BOOST_TEST(t.committable_timestamp() == -1);
  t.release(a);  // 0 and 1 complete: committable 2, the newest complete is 1
  BOOST_TEST(t.committable() == 2);
  BOOST_TEST(t.committable_timestamp() == 2000);
  const uint32_t d = t.begin(5, 0, 5000);  // a gap: offsets 3 and 4 absent
  t.release(c);
  BOOST_TEST(t.committable() == 5);
  BOOST_TEST(t.committable_timestamp() == 3000);
  t.release(d);
  BOOST_TEST(t.committable_timestamp() == 5000);
  t.release(t.begin(6));  // no timestamp on the record
  BOOST_TEST(t.committable() == 7);
  BOOST_TEST(t.committable_timestamp() == -1);
}

BOOST_AUTO_TEST_CASE(a_barrier_keeps_the_timestamp_before_it) {
  OffsetTracker t(8);
  t.release(t.begin(0, 0, 1000));
  const uint32_t barrier = t.begin_barrier(1);
  t.release(t.begin(1, 0, 2000));
  BOOST_TEST(t.committable() == 1);
  BOOST_TEST(t.committable_timestamp() == 1000);
  t.release(barrier);
  BOOST_TEST(t.committable() == 2);
  BOOST_TEST(t.committable_timestamp() == 2000);
}
