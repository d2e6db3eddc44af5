#include "common/held_signal.h"

#include <atomic>
#include <csignal>

namespace streams::signals {
namespace {

std::atomic<bool> held{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

extern "C" void remember_sighup(int) { held.store(true); }

}  // namespace

void hold_sighup() {
  struct sigaction sa {};
  sa.sa_handler = &remember_sighup;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &sa, nullptr);
}

bool take_held_sighup() { return held.exchange(false); }

}  // namespace streams::signals
