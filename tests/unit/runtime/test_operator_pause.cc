// The operator's pause kept across restarts: written when paused, removed
// when resumed, read back (and applied) at the start, a file that cannot
// be read counting as a pause begun now.
#define BOOST_TEST_MODULE operator_pause
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "runtime/operator_pause.h"
#include "test_util.h"

using namespace streams;
using streams::testing::TempDir;

namespace {

// The runtimes, as RuntimeSupervisor::set_paused answers: what was asked.
struct FakeRuntimes {
  bool paused = false;
  std::vector<bool> calls;
  std::function<bool(bool)> apply() {
    return [this](bool p) {
      calls.push_back(p);
      const bool changed = p != paused;
      paused = p;
      return changed;
    };
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_pause_is_kept_until_resumed_and_applied_again_at_the_start) {
  TempDir dir;
  const std::string path = dir.path() + "/group.paused";
  metrics::PipelineMetrics metrics("p");
  FakeRuntimes first;
  kafka::OperatorPause pause(first.apply(), path, metrics);
  pause.restore();  // no file: nothing
  BOOST_TEST(first.calls.empty());
  const int64_t before = wall_ms();
  const auto answer = nlohmann::json::parse(pause.set(true, "the operator (POST /pause)"));
  BOOST_TEST(answer["paused"].get<bool>());
  const auto since = answer["since_ms"].get<int64_t>();
  BOOST_TEST(since >= before);
  BOOST_TEST(metrics.paused_since_ms.value() == static_cast<uint64_t>(since));
  BOOST_REQUIRE(std::filesystem::exists(path));

  // A second pause changes nothing, not even when it began.
  BOOST_TEST(nlohmann::json::parse(pause.set(true, "again"))["since_ms"].get<int64_t>() == since);

  // A restarted host: paused from the start, since the first pause.
  metrics::PipelineMetrics restarted_metrics("p");
  FakeRuntimes restarted;
  kafka::OperatorPause again(restarted.apply(), path, restarted_metrics);
  again.restore();
  BOOST_TEST(restarted.paused);
  BOOST_TEST(restarted_metrics.paused_since_ms.value() == static_cast<uint64_t>(since));

  const auto resumed = nlohmann::json::parse(again.set(false, "the operator (POST /resume)"));
  BOOST_TEST(!resumed["paused"].get<bool>());
  BOOST_TEST(resumed["since_ms"].is_null());
  BOOST_TEST(!restarted.paused);
  BOOST_TEST(restarted_metrics.paused_since_ms.value() == 0u);
  BOOST_TEST(!std::filesystem::exists(path));

  FakeRuntimes third;
  kafka::OperatorPause after(third.apply(), path, metrics);
  after.restore();
  BOOST_TEST(third.calls.empty());
}

BOOST_AUTO_TEST_CASE(a_file_that_cannot_be_read_is_a_pause_begun_now) {
  TempDir dir;
  const std::string path = dir.write("group.paused", "not json");
  metrics::PipelineMetrics metrics("p");
  FakeRuntimes runtimes;
  kafka::OperatorPause pause(runtimes.apply(), path, metrics);
  const int64_t before = wall_ms();
  pause.restore();
  BOOST_TEST(runtimes.paused);
  BOOST_TEST(metrics.paused_since_ms.value() >= static_cast<uint64_t>(before));
}

BOOST_AUTO_TEST_CASE(without_a_path_nothing_is_kept) {
  metrics::PipelineMetrics metrics("p");
  FakeRuntimes runtimes;
  kafka::OperatorPause pause(runtimes.apply(), "", metrics);
  pause.restore();
  pause.set(true, "x");
  BOOST_TEST(runtimes.paused);
  pause.set(false, "x");
  BOOST_TEST(!runtimes.paused);
}
