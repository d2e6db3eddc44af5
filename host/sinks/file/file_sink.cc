#include "sinks/file/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace streams::sinks {
namespace {

constexpr size_t kBufferBytes = 64 * 1024;

// The size of `fd` up to and including its last '\n' (0 when it has none).
int64_t whole_lines_size(int fd, int64_t size) {
  char buf[4096];
  for (int64_t end = size; end > 0;) {
    const int64_t start = end > static_cast<int64_t>(sizeof buf) ? end - sizeof buf : 0;
    const ssize_t n = ::pread(fd, buf, static_cast<size_t>(end - start), start);
    if (n <= 0) return size;  // cannot tell: leave it
    for (ssize_t i = n - 1; i >= 0; --i) {
      if (buf[i] == '\n') return start + i + 1;
    }
    end = start;
  }
  return 0;
}

}  // namespace

std::unique_ptr<FileSink> FileSink::open(const std::string& path, bool fsync, std::string* error) {
  std::unique_ptr<FileSink> sink(new FileSink(path, fsync));
  if (!sink->open_file(error)) return nullptr;
  return sink;
}

bool FileSink::open_file(std::string* error) {
  if (path_ == "-") {
    fd_ = STDOUT_FILENO;
    regular_ = false;
    return true;
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  struct stat st {};
  if (fd_ < 0 || ::fstat(fd_, &st) != 0) {
    *error = "cannot open " + path_ + " for appending: " + std::strerror(errno);
    return false;
  }
  regular_ = S_ISREG(st.st_mode);
  good_size_ = st.st_size;
  if (regular_ && st.st_size > 0) {
    const int64_t whole = whole_lines_size(fd_, st.st_size);
    if (whole < st.st_size && ::ftruncate(fd_, whole) == 0) {
      log::warn("file sink " + path_ + ": cut a torn last line (" +
                std::to_string(st.st_size - whole) + " bytes) left by an interrupted write");
      good_size_ = whole;
    }
  }
  return true;
}

FileSink::~FileSink() {
  if (!failed_) drain();
  if (fd_ >= 0 && fd_ != STDOUT_FILENO) ::close(fd_);
}

bool FileSink::failed(const char* what, int error) {
  if (!failed_) {
    log::error("file sink " + path_ + ": " + what + ": " + std::strerror(error) +
               "; nothing after the last commit counts as written");
  }
  failed_ = true;
  return false;
}

bool FileSink::drain() {
  const char* data = buffer_.data();
  size_t left = buffer_.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : ENOSPC;
      // Cut what this write left of its lines, so no torn line remains.
      if (regular_ && ::ftruncate(fd_, good_size_) != 0) {
        log::error("file sink " + path_ + ": cannot cut the torn line at byte " +
                   std::to_string(good_size_) + ": " + std::strerror(errno));
      }
      buffer_.clear();
      return failed("write failed", error);
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  good_size_ += static_cast<int64_t>(buffer_.size());
  buffer_.clear();
  return true;
}

WriteResult FileSink::write(const streams_record& record, uint64_t, std::string*) {
  if (failed_) return WriteResult::stop;
  const size_t size = record.value.data ? record.value.size : 0;
  buffer_.append(reinterpret_cast<const char*>(record.value.data), size);
  buffer_.push_back('\n');
  if (buffer_.size() >= kBufferBytes && !drain()) return WriteResult::stop;
  return WriteResult::ok;
}

bool FileSink::flush() {
  if (failed_ || !drain()) return false;
  if (fsync_ && regular_ && ::fsync(fd_) != 0) return failed("fsync failed", errno);
  return true;
}

bool FileSink::reopen() {
  if (!flush()) return false;
  if (fd_ == STDOUT_FILENO) return true;
  ::close(fd_);
  fd_ = -1;
  std::string error;
  if (!open_file(&error)) {
    log::error("file sink " + path_ + ": " + error);
    failed_ = true;
    return false;
  }
  log::info("file sink " + path_ + ": reopened");
  return true;
}

}  // namespace streams::sinks
