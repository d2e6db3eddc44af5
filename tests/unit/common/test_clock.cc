// Times and durations as users give them to the tools (`offsets reset
// --to-datetime`, `--by-duration`), and the ISO 8601 the host prints.
#define BOOST_TEST_MODULE clock
#include <boost/test/unit_test.hpp>

#include "common/clock.h"

using streams::iso_utc;
using streams::parse_duration;
using streams::parse_time;

namespace {

int64_t time_of(const char* text) {
  int64_t ms = -1;
  BOOST_TEST_INFO(text);
  BOOST_REQUIRE(parse_time(text, &ms));
  return ms;
}

}  // namespace

BOOST_AUTO_TEST_CASE(iso_8601_with_and_without_zone) {
  const int64_t t = 1700000010000;  // 2023-11-14T22:13:30Z
  BOOST_TEST(time_of("2023-11-14T22:13:30Z") == t);
  BOOST_TEST(time_of("2023-11-14T22:13:30") == t);  // no zone: UTC
  BOOST_TEST(time_of("2023-11-14 22:13:30Z") == t);
  BOOST_TEST(time_of("2023-11-14T22:13:30.250Z") == t + 250);
  BOOST_TEST(time_of("2023-11-14T22:13Z") == t - 30000);
  BOOST_TEST(time_of("2023-11-14T23:13:30+01:00") == t);
  BOOST_TEST(time_of("2023-11-14T20:43:30-01:30") == t);
  BOOST_TEST(time_of(iso_utc(t + 7).c_str()) == t + 7);  // round trip
  BOOST_TEST(time_of("1700000010000") == t);             // epoch milliseconds
  BOOST_TEST(time_of("2024-02-29T00:00:00Z") == 1709164800000);
}

BOOST_AUTO_TEST_CASE(times_refused) {
  int64_t ms = 0;
  for (const char* bad :
       {"", "yesterday", "2023-11-14", "2023-11-14T25:00:00Z", "2023-13-01T00:00Z",
        "2023-02-30T00:00:00Z", "2023-11-14T22:13:30X", "2023-11-14T22:13:30+1",
        "2023-11-14T22:13:30Z ", "2023-11-14T22:13:3", "-5", "12345678901234567890"}) {
    BOOST_TEST_INFO(bad);
    BOOST_TEST(!parse_time(bad, &ms));
  }
}

BOOST_AUTO_TEST_CASE(durations) {
  int64_t ms = 0;
  BOOST_TEST((parse_duration("250ms", &ms) && ms == 250));
  BOOST_TEST((parse_duration("90s", &ms) && ms == 90000));
  BOOST_TEST((parse_duration("15m", &ms) && ms == 900000));
  BOOST_TEST((parse_duration("2h", &ms) && ms == 7200000));
  BOOST_TEST((parse_duration("1d", &ms) && ms == 86400000));
  for (const char* bad : {"", "15", "m", "5 minutes", "1.5h", "-5m", "15M", "3w"}) {
    BOOST_TEST_INFO(bad);
    BOOST_TEST(!parse_duration(bad, &ms));
  }
}
