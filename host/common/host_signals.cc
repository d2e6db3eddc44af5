#include "common/host_signals.h"

#include <string.h>  // sigabbrev_np

#include <atomic>
#include <iterator>

namespace streams::signals {
namespace {

std::atomic<bool> held{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

extern "C" void remember_sighup(int) { held.store(true); }

bool same(const struct sigaction& a, const struct sigaction& b) {
  return (a.sa_flags & SA_SIGINFO) == (b.sa_flags & SA_SIGINFO) &&
         ((a.sa_flags & SA_SIGINFO) ? a.sa_sigaction == b.sa_sigaction
                                    : a.sa_handler == b.sa_handler);
}

}  // namespace

void hold_sighup() {
  struct sigaction sa {};
  sa.sa_handler = &remember_sighup;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &sa, nullptr);
}

bool take_held_sighup() { return held.exchange(false); }

Dispositions Dispositions::now() {
  Dispositions d;
  for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], nullptr, &d.actions_[i]);
  return d;
}

std::vector<std::string> Dispositions::restore() const {
  std::vector<std::string> restored;
  for (size_t i = 0; i < std::size(kSignals); ++i) {
    struct sigaction current {};
    sigaction(kSignals[i], nullptr, &current);
    if (same(current, actions_[i])) continue;
    sigaction(kSignals[i], &actions_[i], nullptr);
    restored.push_back(std::string("SIG") + sigabbrev_np(kSignals[i]));
  }
  return restored;
}

}  // namespace streams::signals
