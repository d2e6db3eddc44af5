#include "sinks/file/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

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

// One open path and what its sinks appended, under `mutex_`: appends,
// syncs and reopens (I/O the kernel serialises on the file anyway; one
// lock a 64 KiB buffer, not a record).
class FileTarget {
 public:
  explicit FileTarget(std::string path) : path_(std::move(path)) {}
  ~FileTarget() {
    if (fd_ >= 0 && fd_ != STDOUT_FILENO) ::close(fd_);
  }
  FileTarget(const FileTarget&) = delete;
  FileTarget& operator=(const FileTarget&) = delete;

  // The target of `path`, opened by the first sink that asks.
  static std::shared_ptr<FileTarget> get(const std::string& path, std::string* error);

  // Appends `lines` (whole lines). False with *what and *error, for good:
  // the lines of a failed append are cut.
  bool append(const std::string& lines, const char** what, int* error);
  bool sync(int* error);
  // Opens the path again if it names another file now (log rotation); a
  // second sink's reopen finds it done.
  bool reopen(bool* reopened, std::string* error);

 private:
  bool open_file(std::string* error);

  std::mutex mutex_;
  const std::string path_;
  int fd_ = -1;
  bool regular_ = false;   // a regular file: fsync and truncation apply
  int64_t good_size_ = 0;  // the file ends with a whole line here
  int failed_ = 0;         // the errno of the append that failed (sticky)
};

std::shared_ptr<FileTarget> FileTarget::get(const std::string& path, std::string* error) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<FileTarget>> open;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto known = open[path].lock()) return known;
  auto target = std::make_shared<FileTarget>(path);
  if (!target->open_file(error)) return nullptr;
  open[path] = target;
  return target;
}

bool FileTarget::open_file(std::string* error) {
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

bool FileTarget::append(const std::string& lines, const char** what, int* error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (failed_ != 0) {
    *what = "an earlier write to the file failed";
    *error = failed_;
    return false;
  }
  const char* data = lines.data();
  size_t left = lines.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failed_ = *error = n < 0 ? errno : ENOSPC;
      *what = "write failed";
      // Cut what this write left of its lines, so no torn line remains.
      if (regular_ && ::ftruncate(fd_, good_size_) != 0) {
        log::error("file sink " + path_ + ": cannot cut the torn line at byte " +
                   std::to_string(good_size_) + ": " + std::strerror(errno));
      }
      return false;
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  good_size_ += static_cast<int64_t>(lines.size());
  return true;
}

bool FileTarget::sync(int* error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!regular_ || ::fsync(fd_) == 0) return true;
  *error = errno;
  return false;
}

bool FileTarget::reopen(bool* reopened, std::string* error) {
  std::lock_guard<std::mutex> lock(mutex_);
  *reopened = false;
  if (fd_ == STDOUT_FILENO) return true;
  struct stat now {
  }, open{};
  if (::stat(path_.c_str(), &now) == 0 && ::fstat(fd_, &open) == 0 && now.st_dev == open.st_dev &&
      now.st_ino == open.st_ino) {
    return true;  // not renamed, or reopened by another sink of the path
  }
  ::close(fd_);
  fd_ = -1;
  *reopened = true;
  return open_file(error);
}

std::unique_ptr<FileSink> FileSink::open(const std::string& path, bool fsync, std::string* error) {
  std::unique_ptr<FileSink> sink(new FileSink(path, fsync));
  sink->target_ = FileTarget::get(path, error);
  if (!sink->target_) return nullptr;
  return sink;
}

FileSink::~FileSink() {
  if (!failed_) drain();
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
  if (buffer_.empty()) return true;
  const char* what = "";
  int error = 0;
  const bool ok = target_->append(buffer_, &what, &error);
  buffer_.clear();
  return ok || failed(what, error);
}

WriteResult FileSink::write(const streams_record& record, uint64_t, const streams_origin*,
                            std::string*) {
  if (failed_) return WriteResult::stop;
  const size_t size = record.value.data ? record.value.size : 0;
  buffer_.append(reinterpret_cast<const char*>(record.value.data), size);
  buffer_.push_back('\n');
  if (buffer_.size() >= kBufferBytes && !drain()) return WriteResult::stop;
  return WriteResult::ok;
}

bool FileSink::flush() {
  if (failed_ || !drain()) return false;
  int error = 0;
  if (fsync_ && !target_->sync(&error)) return failed("fsync failed", error);
  return true;
}

bool FileSink::reopen() {
  if (!flush()) return false;
  bool reopened = false;
  std::string error;
  if (!target_->reopen(&reopened, &error)) {
    log::error("file sink " + path_ + ": " + error);
    failed_ = true;
    return false;
  }
  if (reopened) log::info("file sink " + path_ + ": reopened");
  return true;
}

}  // namespace streams::sinks
