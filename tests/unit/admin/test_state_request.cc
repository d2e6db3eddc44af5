// The admin endpoint's GET /state/... targets: parsed, refused with a
// reason, and written back by `streams-host state`.
#define BOOST_TEST_MODULE state_request
#include <boost/test/unit_test.hpp>

#include "admin/state_request.h"

using streams::admin::parse_state_target;
using streams::admin::state_target;
using streams::pipeline::StateQuery;

BOOST_AUTO_TEST_CASE(a_key_and_a_scan) {
  StateQuery q;
  std::string error;
  BOOST_REQUIRE(parse_state_target("/state/count/3/user%2F7%20a", &q, &error));
  BOOST_TEST(q.step == "count");
  BOOST_TEST(q.partition == 3);
  BOOST_TEST(!q.scan);
  BOOST_TEST(q.key == "user/7 a");
  BOOST_REQUIRE(parse_state_target("/state/count/0?prefix=us%00er&limit=5", &q, &error));
  BOOST_TEST(q.scan);
  BOOST_TEST(q.key == std::string("us\0er", 5));
  BOOST_TEST(q.limit == 5u);
  BOOST_REQUIRE(parse_state_target("/state/count/0", &q, &error));
  BOOST_TEST(q.scan);
  BOOST_TEST(q.key == "");
  BOOST_TEST(q.limit == 100u);
}

BOOST_AUTO_TEST_CASE(bad_targets_say_why) {
  StateQuery q;
  std::string error;
  for (const char* target :
       {"/state", "/state/count", "/state/count/x/k", "/state/count/-1/k", "/state/count/0/k%2",
        "/state/count/0?limit=0", "/state/count/0?limit=10001", "/state/count/0?from=a",
        "/state/count/0/k?prefix=a", "/state/count/0/k/more"}) {
    BOOST_TEST_CONTEXT(target) {
      error.clear();
      BOOST_TEST(!parse_state_target(target, &q, &error));
      BOOST_TEST(!error.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(targets_round_trip) {
  StateQuery q;
  q.step = "my step";
  q.partition = 12;
  q.key = std::string("a/b?c&d=\xff\0", 10);
  for (bool scan : {false, true}) {
    q.scan = scan;
    q.limit = 7;
    StateQuery back;
    std::string error;
    BOOST_REQUIRE_MESSAGE(parse_state_target(state_target(q), &back, &error), error);
    BOOST_TEST(back.step == q.step);
    BOOST_TEST(back.partition == 12);
    BOOST_TEST(back.scan == scan);
    BOOST_TEST(back.key == q.key);
    if (scan) BOOST_TEST(back.limit == 7u);
  }
}
