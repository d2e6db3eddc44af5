// A host run as a systemd service of Type=notify tells systemd how it is
// (sd_notify(3), from libsystemd): READY=1 once it has subscribed (plugins
// loaded, consumer made),
// WATCHDOG=1 while its processing loop turns (every half of the unit's
// WatchdogSec, so a stuck loop gets the service restarted), STOPPING=1 when
// it starts to drain. Outside such a unit ($NOTIFY_SOCKET unset) every call
// does nothing.
//
// Thread: the processing thread.
#pragma once

#include <cstdint>

namespace streams {

class SystemdNotify {
 public:
  SystemdNotify();
  void ready();
  void stopping();
  // The loop turned at `now_ms` (the steady clock).
  void alive(int64_t now_ms) {
    if (watchdog_ms_ > 0 && now_ms - last_ms_ >= watchdog_ms_) ping(now_ms);
  }

 private:
  void ping(int64_t now_ms);

  bool enabled_ = false;
  int64_t watchdog_ms_ = 0;  // half the unit's WatchdogSec; 0: no watchdog
  int64_t last_ms_ = 0;
};

}  // namespace streams
