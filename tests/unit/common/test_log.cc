// Log lines cannot be forged by what a message quotes (a schema error
// naming a property "x\n2026-... ERROR ..."), in text or JSON.
#define BOOST_TEST_MODULE log
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error_report.h"
#include "common/log.h"
#include "test_util.h"

namespace slog = streams::log;

namespace {

const char* kForgery = "property 'x\n2026-01-01T00:00:00.000Z ERROR forged\r\x1b[31m' is wrong";

}  // namespace

BOOST_AUTO_TEST_CASE(text_lines_continue_indented_and_escape_control_characters) {
  slog::set_format(slog::Format::text);
  const std::string out = streams::testing::captured_stderr([] { slog::warn(kForgery); });
  BOOST_TEST(out.find("\n2026-01-01") == std::string::npos, out);
  BOOST_TEST(out.find("x\n    2026-01-01T00:00:00.000Z ERROR forged\\r\\x1b[31m' is wrong\n") !=
                 std::string::npos,
             out);
}

BOOST_AUTO_TEST_CASE(json_lines_escape_everything) {
  slog::set_format(slog::Format::json);
  const std::string out = streams::testing::captured_stderr([] { slog::warn(kForgery); });
  slog::set_format(slog::Format::text);
  BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 1, out);
  BOOST_TEST(
      out.find("x\\n2026-01-01T00:00:00.000Z ERROR forged\\r\\u001b[31m") != std::string::npos,
      out);
}

BOOST_AUTO_TEST_CASE(a_thread_tag_names_the_thread_in_its_lines_only_while_it_lives) {
  const std::string text = streams::testing::captured_stderr([] {
    {
      const slog::ThreadTag tag("thread 2");
      slog::info("assigned in[1]");
    }
    slog::info("stopped");
  });
  BOOST_TEST(text.find("INFO  [thread 2] assigned in[1]\n") != std::string::npos, text);
  BOOST_TEST(text.find("INFO  stopped\n") != std::string::npos, text);
  slog::set_format(slog::Format::json);
  const std::string json = streams::testing::captured_stderr([] {
    const slog::ThreadTag tag("thread 2");
    slog::info("assigned in[1]");
  });
  slog::set_format(slog::Format::text);
  BOOST_TEST(json.find(R"("message":"assigned in[1]","thread":"thread 2")") != std::string::npos,
             json);
}

namespace {

// Keeps what it is given (copies: the views die with the call).
class Kept : public streams::report::Reporter {
 public:
  void capture(const streams::report::Event& e) override {
    messages.emplace_back(e.message);
    fingerprints.emplace_back(e.fingerprint.begin(), e.fingerprint.end());
  }
  std::vector<std::string> messages;
  std::vector<std::vector<std::string>> fingerprints;
};

}  // namespace

BOOST_AUTO_TEST_CASE(numbers_are_masked_but_not_inside_words) {
  using streams::report::numbers_masked;
  BOOST_TEST(numbers_masked("s-in[0]@6 after 3097 ms, 0.5 s") ==
             "s-in[<n>]@<n> after <n> ms, <n>.<n> s");
  BOOST_TEST(numbers_masked("utf8 v2 step_3 events-2") == "utf8 v2 step_3 events-<n>");
  BOOST_TEST(numbers_masked("") == "");
  BOOST_TEST(numbers_masked("42") == "<n>");
}

BOOST_AUTO_TEST_CASE(an_error_line_is_an_event_whose_issue_ignores_its_numbers) {
  Kept kept;
  streams::report::set_reporter(&kept);
  streams::log::warn("not an event");
  streams::log::error("not ready for 300 s: no commit cycle for 301234 ms");
  streams::log::error("not ready for 301 s: no commit cycle for 302100 ms");
  streams::report::set_reporter(nullptr);
  streams::log::error("no reporter: nothing captured");
  BOOST_TEST(kept.messages.size() == 2u);
  BOOST_TEST(kept.messages[1] == "not ready for 301 s: no commit cycle for 302100 ms");
  const std::vector<std::string> issue{"not ready for <n> s: no commit cycle for <n> ms"};
  BOOST_TEST(kept.fingerprints[0] == issue, boost::test_tools::per_element());
  BOOST_TEST(kept.fingerprints[1] == issue, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(iso_utc_gives_milliseconds_in_utc) {
  BOOST_TEST(streams::iso_utc(0) == "1970-01-01T00:00:00.000Z");
  BOOST_TEST(streams::iso_utc(1764907315197) == "2025-12-05T04:01:55.197Z");
}
