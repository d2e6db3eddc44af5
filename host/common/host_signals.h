// The signals a host relies on, kept its own.
//
// SIGHUP asks a running host to reload and reopen its files; its default
// action ends the process. While no control plane listens for it (a host's
// start-up, which may take seconds: plugins, state, the segment pause's
// catch-up; and its shutdown), hold_sighup() makes it only remembered, so a
// logrotate or `kill -HUP` then does not kill the host. The control plane's
// own handler replaces this one while it runs, and asks take_held_sighup()
// whether one came before, to act on it once.
//
// Code the host loads may replace a handler: a Python module that calls
// signal.signal(SIGTERM, ...) as it is imported (on the main thread, the
// only one where Python allows it) would leave the host deaf to SIGTERM,
// its own handler never run either (the host runs no Python signal loop).
// Dispositions notes the handlers before such code runs and puts back any
// it replaced.
//
// Thread: any; the handlers are async-signal-safe.
#pragma once

#include <csignal>
#include <string>
#include <vector>

namespace streams::signals {

// Installs the remembering handler for SIGHUP (again after the control
// plane's, which restores the default when it goes).
void hold_sighup();
// True, once, when a SIGHUP came while held.
bool take_held_sighup();

// The dispositions of SIGTERM, SIGINT, SIGHUP and SIGPIPE.
class Dispositions {
 public:
  // As they are now.
  static Dispositions now();
  // Puts back each that differs now; returns their names ("SIGTERM").
  std::vector<std::string> restore() const;

 private:
  static constexpr int kSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE};
  struct sigaction actions_[sizeof kSignals / sizeof kSignals[0]] = {};
};

}  // namespace streams::signals
