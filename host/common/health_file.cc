#include "common/health_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace streams {

void HealthFile::touch(int64_t now_ms) {
  if (path_.empty() || now_ms - last_ms_ < 1000) return;
  last_ms_ = now_ms;
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || ::futimens(fd, nullptr) != 0) {
    uint64_t suppressed = 0;
    if (log_.allow(std::chrono::steady_clock::now(), &suppressed)) {
      log::warn("cannot touch the healthcheck file " + path_ + ": " + std::strerror(errno) +
                log::RateLimitedLog::note(suppressed));
    }
  }
  if (fd >= 0) ::close(fd);
}

}  // namespace streams
