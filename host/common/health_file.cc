#include "common/health_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace streams {

void HealthFile::touch(int64_t now_ms) {
  if (path_.empty() || (last_ms_ != 0 && now_ms - last_ms_ < 1000)) return;
  last_ms_ = now_ms;
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || ::futimens(fd, nullptr) != 0) {
    failed(now_ms, std::strerror(errno));
  } else if (!failing_.empty()) {
    log::info("the healthcheck file " + path_ + " is touched again");
    failing_.clear();
  }
  if (fd >= 0) ::close(fd);
}

void HealthFile::failed(int64_t now_ms, const std::string& why) {
  if (why != failing_) {
    log::warn("cannot touch the healthcheck file " + path_ + ": " + why +
              " (a probe that reads it fails; said again every 10 minutes while it lasts)");
  } else if (now_ms - warned_ms_ >= kRemindMs) {
    log::warn("still cannot touch the healthcheck file " + path_ + ": " + why + " (" +
              std::to_string(failed_since_) + " touches failed since the last warning)");
  } else {
    ++failed_since_;
    return;
  }
  failing_ = why;
  warned_ms_ = now_ms;
  failed_since_ = 0;
}

}  // namespace streams
