// The backpressure pause lines: one a minute, counting the pauses between
// (a host ahead of a slow sink pauses and resumes all day).
#define BOOST_TEST_MODULE runtime_gauges
#include <boost/test/unit_test.hpp>

#include <string>

#include "pipeline/runtime_gauges.h"
#include "test_util.h"

using streams::pipeline::RuntimeGauges;

namespace {

size_t lines(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(pauses_are_logged_once_a_minute_with_the_count_between) {
  streams::metrics::PipelineMetrics metrics("test");
  RuntimeGauges gauges(metrics);
  int64_t now = 5'000'000;
  const std::string first = streams::testing::captured_stderr([&] {
    for (int i = 0; i < 120; ++i, now += 400) gauges.log_pause("in", 3, 100 + i, "full", now);
  });
  // 48 s of pauses, 2.5 a second: one line, the first.
  BOOST_TEST(lines(first) == 1u, first);
  BOOST_TEST(first.find("backpressure: paused in[3] at 100: full\n") != std::string::npos, first);
  now += 12'000;  // a minute after the first line
  const std::string next =
      streams::testing::captured_stderr([&] { gauges.log_pause("in", 1, 7, "full", now); });
  BOOST_TEST(next.find("backpressure: paused in[1] at 7: full (119 more pause(s) since the last "
                       "such line)\n") != std::string::npos,
             next);
}
