// Log lines cannot be forged by what a message quotes (a schema error
// naming a property "x\n2026-... ERROR ..."), in text or JSON.
#define BOOST_TEST_MODULE log
#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "test_util.h"

namespace slog = streams::log;

namespace {

// What slog::write sent to stderr while `body` ran.
template <class F>
std::string captured(F&& body) {
  streams::testing::TempDir dir;
  const std::string path = dir.path() + "/stderr";
  const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(file, STDERR_FILENO);
  body();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(file);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

const char* kForgery = "property 'x\n2026-01-01T00:00:00.000Z ERROR forged\r\x1b[31m' is wrong";

}  // namespace

BOOST_AUTO_TEST_CASE(text_lines_continue_indented_and_escape_control_characters) {
  slog::set_format(slog::Format::text);
  const std::string out = captured([] { slog::warn(kForgery); });
  BOOST_TEST(out.find("\n2026-01-01") == std::string::npos, out);
  BOOST_TEST(out.find("x\n    2026-01-01T00:00:00.000Z ERROR forged\\r\\x1b[31m' is wrong\n") !=
                 std::string::npos,
             out);
}

BOOST_AUTO_TEST_CASE(json_lines_escape_everything) {
  slog::set_format(slog::Format::json);
  const std::string out = captured([] { slog::warn(kForgery); });
  slog::set_format(slog::Format::text);
  BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 1, out);
  BOOST_TEST(
      out.find("x\\n2026-01-01T00:00:00.000Z ERROR forged\\r\\u001b[31m") != std::string::npos,
      out);
}

BOOST_AUTO_TEST_CASE(a_thread_tag_names_the_thread_in_its_lines_only_while_it_lives) {
  const std::string text = captured([] {
    {
      const slog::ThreadTag tag("thread 2");
      slog::info("assigned in[1]");
    }
    slog::info("stopped");
  });
  BOOST_TEST(text.find("INFO  [thread 2] assigned in[1]\n") != std::string::npos, text);
  BOOST_TEST(text.find("INFO  stopped\n") != std::string::npos, text);
  slog::set_format(slog::Format::json);
  const std::string json = captured([] {
    const slog::ThreadTag tag("thread 2");
    slog::info("assigned in[1]");
  });
  slog::set_format(slog::Format::text);
  BOOST_TEST(json.find(R"("message":"assigned in[1]","thread":"thread 2")") != std::string::npos,
             json);
}
