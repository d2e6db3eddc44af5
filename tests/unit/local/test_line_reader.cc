// The local runtime's line reader: lines across reads and longer than its
// buffer, a last line without '\n', and `idle` called only when a live
// input (a pipe) has nothing to read, never for a regular file.
#define BOOST_TEST_MODULE line_reader
#include "local/line_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

using streams::local::LineReader;

namespace {

struct Pipe {
  int fds[2];
  Pipe() { BOOST_REQUIRE(::pipe(fds) == 0); }
  ~Pipe() {
    ::close(fds[0]);
    if (fds[1] >= 0) ::close(fds[1]);
  }
  void write(const std::string& text) {
    BOOST_REQUIRE(::write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }
  void close_writer() {
    ::close(fds[1]);
    fds[1] = -1;
  }
};

std::vector<std::string> all_lines(LineReader& reader) {
  std::vector<std::string> lines;
  std::string line, error;
  while (reader.next(&line, &error)) lines.push_back(line);
  BOOST_TEST(error.empty());
  return lines;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_pipe_is_idle_only_when_nothing_is_ready) {
  Pipe pipe;
  int idle = 0;
  // Idle: the caller flushes, and here the writer sends the next line.
  LineReader reader(
      pipe.fds[0],
      [&] {
        ++idle;
        pipe.write(idle == 1 ? "c\n" : "d");
        if (idle == 2) pipe.close_writer();
      },
      nullptr);
  pipe.write("a\nb");
  std::string line, error;
  BOOST_TEST(reader.next(&line, &error));
  BOOST_TEST(line == "a");
  BOOST_TEST(idle == 0);  // data was ready at the first read
  BOOST_TEST(reader.next(&line, &error));
  BOOST_TEST(line == "bc");
  BOOST_TEST(idle == 1);  // "b" waited for more
  pipe.write("e\n");      // ready before the reader runs dry: no idle
  BOOST_TEST(reader.next(&line, &error));
  BOOST_TEST(line == "e");
  BOOST_TEST(idle == 1);
  BOOST_TEST(reader.next(&line, &error));  // a last line without '\n'
  BOOST_TEST(line == "d");
  BOOST_TEST(idle == 2);
  BOOST_TEST(!reader.next(&line, &error));
  BOOST_TEST(error.empty());
  BOOST_TEST(idle == 2);  // the end was ready to read
}

BOOST_AUTO_TEST_CASE(a_regular_file_is_never_idle) {
  char path[] = "/tmp/line_reader_XXXXXX";
  const int fd = ::mkstemp(path);
  BOOST_REQUIRE(fd >= 0);
  const std::string text = "one\n\nthree\n";
  BOOST_REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::lseek(fd, 0, SEEK_SET);
  int idle = 0;
  LineReader reader(
      fd, [&] { ++idle; }, nullptr);
  BOOST_TEST(all_lines(reader) == (std::vector<std::string>{"one", "", "three"}),
             boost::test_tools::per_element());
  BOOST_TEST(idle == 0);
  ::close(fd);
  ::unlink(path);
}

BOOST_AUTO_TEST_CASE(lines_longer_than_the_buffer) {
  Pipe pipe;
  const std::string long_line(200 << 10, 'x');  // three times the 64 KiB buffer
  const std::string text = "s\n" + long_line + "\nt\n";
  std::thread writer([&] {  // a pipe holds 64 KiB: written while read
    pipe.write(text);
    pipe.close_writer();
  });
  LineReader reader(pipe.fds[0], nullptr, nullptr);
  const std::vector<std::string> got = all_lines(reader);
  writer.join();
  BOOST_REQUIRE(got.size() == 3u);
  BOOST_TEST(got[0] == "s");
  BOOST_TEST(got[1] == long_line);
  BOOST_TEST(got[2] == "t");
}

// A stop set while the reader was not waiting (a signal during a line's
// processing interrupts no read): its next wait on a quiet pipe ends.
BOOST_AUTO_TEST_CASE(a_stop_set_before_the_wait_ends_it) {
  Pipe pipe;
  std::atomic<bool> stop{false};
  LineReader reader(
      pipe.fds[0], [] {}, &stop);
  pipe.write("a\n");
  std::string line, error;
  BOOST_REQUIRE(reader.next(&line, &error));
  stop = true;
  std::atomic<bool> returned{false};
  std::thread waiting([&] {
    std::string more, why;
    BOOST_TEST(!reader.next(&more, &why));
    BOOST_TEST(why.empty());
    returned = true;
  });
  for (int i = 0; i < 1000 && !returned; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polled, 10 s at most
  }
  const bool ended = returned;
  pipe.close_writer();  // lets a reader stuck in read() go, so the test ends either way
  waiting.join();
  BOOST_TEST(ended);
}

BOOST_AUTO_TEST_CASE(a_read_error_is_reported) {
  LineReader reader(-1, nullptr, nullptr);  // not a descriptor
  std::string line, error;
  BOOST_TEST(!reader.next(&line, &error));
  BOOST_TEST(error.find("reading the input: Bad file descriptor") != std::string::npos);
}
