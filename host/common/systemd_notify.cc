#include "common/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>

namespace streams {

SystemdNotify::SystemdNotify() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket && *socket;
  uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set for this process (WATCHDOG_PID).
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0) {
    watchdog_ms_ = static_cast<int64_t>(usec / 2000);
    if (watchdog_ms_ < 1) watchdog_ms_ = 1;
  }
}

void SystemdNotify::ready() {
  if (enabled_) sd_notify(0, "READY=1\nSTATUS=consuming");
}

void SystemdNotify::stopping() {
  if (enabled_) sd_notify(0, "STOPPING=1\nSTATUS=draining");
}

void SystemdNotify::ping(int64_t now_ms) {
  last_ms_ = now_ms;
  sd_notify(0, "WATCHDOG=1");
}

}  // namespace streams
