// Newline-delimited input for the local runtime, read from a descriptor
// into one reused buffer. On a pipe, terminal or socket (a live stream: `tail
// -f log | streams-host run --runtime local`) it calls `idle` each time it
// is about to wait for more input, so the caller can flush what the lines
// so far produced: their outputs show while the input is quiet, not when a
// buffer fills or the input ends. A regular file never waits: no calls.
//
// Thread: one thread; `idle` runs on it, inside next().
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace streams::local {

class LineReader {
 public:
  // `fd` is borrowed (not closed); `stop` (may be null), once set, ends a
  // live input's wait within 100 ms, whenever it was set.
  LineReader(int fd, std::function<void()> idle, const std::atomic<bool>* stop);

  // The next line without its '\n' (a last line without one included).
  // False at the end of the input, when stopped, or on a read error
  // (*error set).
  bool next(std::string* line, std::string* error);

 private:
  // Reads more into the buffer; false at the end, when stopped, or on error.
  bool fill(std::string* error);
  // A live input: waits until it can be read without blocking; false when
  // stopped (or on error, *error set).
  bool wait_readable(std::string* error);

  int fd_;
  std::function<void()> idle_;
  const std::atomic<bool>* stop_;
  bool live_ = false;  // a pipe, terminal or socket: may wait
  bool ended_ = false;
  bool failed_ = false;  // a read error
  std::vector<char> buffer_;
  size_t begin_ = 0, end_ = 0;  // the unread bytes
};

}  // namespace streams::local
