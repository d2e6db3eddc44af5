// SIGHUP asks a running host to reload and reopen its files; its default
// action ends the process. While no control plane listens for it (a host's
// start-up, which may take seconds: plugins, state, the segment pause's
// catch-up; and its shutdown), hold_sighup() makes it only remembered, so a
// logrotate or `kill -HUP` then does not kill the host. The control plane's
// own handler replaces this one while it runs, and asks take_held_sighup()
// whether one came before, to act on it once.
//
// Thread: any; the handler is async-signal-safe.
#pragma once

namespace streams::signals {

// Installs the remembering handler for SIGHUP (again after the control
// plane's, which restores the default when it goes).
void hold_sighup();
// True, once, when a SIGHUP came while held.
bool take_held_sighup();

}  // namespace streams::signals
