// The host's signal dispositions: SIGHUP remembered while held, and
// handlers replaced by loaded code (a Python module) put back.
#define BOOST_TEST_MODULE host_signals
#include <boost/test/unit_test.hpp>

#include <csignal>

#include "common/host_signals.h"

using namespace streams;

namespace {

extern "C" void ours(int) {}
extern "C" void theirs(int) {}

void install(int signal, void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sigaction(signal, &sa, nullptr);
}

void (*handler_of(int signal))(int) {
  struct sigaction sa {};
  sigaction(signal, nullptr, &sa);
  return sa.sa_handler;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_held_sighup_is_remembered_once_and_does_not_end_the_process) {
  signals::hold_sighup();
  BOOST_TEST(!signals::take_held_sighup());
  BOOST_REQUIRE(std::raise(SIGHUP) == 0);  // the default would end this test
  BOOST_TEST(signals::take_held_sighup());
  BOOST_TEST(!signals::take_held_sighup());
}

BOOST_AUTO_TEST_CASE(handlers_replaced_since_the_snapshot_are_put_back_and_named) {
  install(SIGTERM, &ours);
  install(SIGPIPE, SIG_IGN);
  const auto before = signals::Dispositions::now();
  BOOST_TEST(before.restore().empty());
  install(SIGTERM, &theirs);
  install(SIGPIPE, SIG_DFL);
  const std::vector<std::string> restored = before.restore();
  BOOST_TEST(restored == (std::vector<std::string>{"SIGTERM", "SIGPIPE"}),
             boost::test_tools::per_element());
  BOOST_TEST(handler_of(SIGTERM) == &ours);
  BOOST_TEST(handler_of(SIGPIPE) == SIG_IGN);
  install(SIGTERM, SIG_DFL);
}
