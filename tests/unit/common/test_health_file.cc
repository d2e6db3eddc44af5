// The healthcheck file: touched at most once a second; a file that cannot
// be touched is said once, then every ten minutes, and its recovery too.
#define BOOST_TEST_MODULE health_file
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "common/health_file.h"
#include "test_util.h"

using streams::HealthFile;

namespace {

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_file_that_cannot_be_touched_is_said_once_then_every_ten_minutes) {
  streams::testing::TempDir dir;
  const std::string blocked = dir.path() + "/missing";
  HealthFile health(blocked + "/health.txt");
  int64_t now = 1'000'000;
  const std::string first = streams::testing::captured_stderr([&] {
    for (int i = 0; i < 600; ++i, now += 1000) health.touch(now);  // ten minutes, once a second
  });
  BOOST_TEST(count(first, "cannot touch the healthcheck file " + blocked) == 1u, first);
  const std::string reminder = streams::testing::captured_stderr([&] { health.touch(now); });
  BOOST_TEST(count(reminder, "still cannot touch the healthcheck file") == 1u, reminder);
  BOOST_TEST(count(reminder, "(599 touches failed since the last warning)") == 1u, reminder);

  BOOST_REQUIRE(::mkdir(blocked.c_str(), 0700) == 0);
  const std::string recovered = streams::testing::captured_stderr([&] {
    health.touch(now += 1000);
    health.touch(now += 1000);
  });
  BOOST_TEST(count(recovered, "is touched again") == 1u, recovered);
  struct stat st;
  BOOST_TEST(::stat((blocked + "/health.txt").c_str(), &st) == 0);
}

BOOST_AUTO_TEST_CASE(touches_come_at_most_once_a_second) {
  streams::testing::TempDir dir;
  const std::string path = dir.path() + "/health.txt";
  HealthFile health(path);
  health.touch(5000);
  BOOST_REQUIRE(::unlink(path.c_str()) == 0);
  health.touch(5999);  // too soon: not touched again
  struct stat st;
  BOOST_TEST(::stat(path.c_str(), &st) != 0);
  health.touch(6000);
  BOOST_TEST(::stat(path.c_str(), &st) == 0);
}
