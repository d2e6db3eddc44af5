#include "local/line_reader.h"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace streams::local {
namespace {

constexpr size_t kChunk = 64 << 10;
// How often a live input's wait looks at the stop flag: a signal that came
// while the thread was not waiting (processing a line, flushing) interrupts
// no read, so the wait must not rest on one.
constexpr int kStopCheckMs = 100;

}  // namespace

LineReader::LineReader(int fd, std::function<void()> idle, const std::atomic<bool>* stop)
    : fd_(fd), idle_(std::move(idle)), stop_(stop), buffer_(kChunk) {
  struct stat st;
  live_ = ::fstat(fd, &st) == 0 && !S_ISREG(st.st_mode);
}

bool LineReader::next(std::string* line, std::string* error) {
  size_t scanned = begin_;  // no '\n' in [begin_, scanned)
  for (;;) {
    const void* nl = std::memchr(buffer_.data() + scanned, '\n', end_ - scanned);
    if (nl) {
      const auto at = static_cast<size_t>(static_cast<const char*>(nl) - buffer_.data());
      line->assign(buffer_.data() + begin_, at - begin_);
      begin_ = at + 1;
      return true;
    }
    const size_t searched = end_ - begin_;
    if (ended_ || !fill(error)) {
      if (failed_ || begin_ == end_) return false;
      line->assign(buffer_.data() + begin_, end_ - begin_);  // a last line without '\n'
      begin_ = end_;
      return true;
    }
    scanned = begin_ + searched;  // fill() moved the partial line to the front
  }
}

bool LineReader::fill(std::string* error) {
  if (begin_ > 0) {  // the partial line to the front
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);  // a line longer than it
  if (live_ && idle_) {
    pollfd ready{fd_, POLLIN, 0};
    if (::poll(&ready, 1, 0) == 0) idle_();
  }
  if (live_ && !wait_readable(error)) return false;
  for (;;) {
    const ssize_t n = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      return true;
    }
    if (n == 0) {
      ended_ = true;
      return false;
    }
    if (errno == EINTR && !(stop_ && stop_->load(std::memory_order_relaxed))) continue;
    if (errno != EINTR) {
      *error = std::string("reading the input: ") + std::strerror(errno);
      failed_ = true;
    }
    ended_ = true;
    return false;
  }
}

bool LineReader::wait_readable(std::string* error) {
  for (;;) {
    if (stop_ && stop_->load(std::memory_order_relaxed)) {
      ended_ = true;
      return false;
    }
    pollfd ready{fd_, POLLIN, 0};
    const int n = ::poll(&ready, 1, kStopCheckMs);
    if (n > 0) return true;  // data, or the end or an error, which read() tells
    if (n < 0 && errno != EINTR) {
      *error = std::string("waiting for the input: ") + std::strerror(errno);
      failed_ = ended_ = true;
      return false;
    }
  }
}

}  // namespace streams::local
