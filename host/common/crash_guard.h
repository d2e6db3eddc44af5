// Fatal signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) on a processing
// thread: before the process dies, one log line names the signal and what
// the thread was doing (step, plugin and version, topic, partition and
// offset), and one line is appended to the crash journal, so the next start
// can quarantine the input (pipeline/crash_journal.h).
//
// The data plane marks what it does in a thread_local InFlight: plain stores,
// no locks, nothing per record beyond them. The handler reads it; it only
// formats into a stack buffer and calls write(2) (async-signal-safe), on an
// alternate stack so that a stack overflow is reported too, then lets the
// signal kill the process as it would have (exit status, core dump).
#pragma once

#include <cstdint>

#include <streams/plugin_abi.h>

namespace streams::crash {

// A step as the handler names it. The strings outlive every InFlight that
// points at the label (a Chain keeps its Generation).
struct StepLabel {
  const char* name;
  const char* plugin;   // "" for built-in steps
  const char* version;  // "" for built-in steps
};

// What the calling thread is doing. Written by that thread only.
struct InFlight {
  const StepLabel* step = nullptr;         // the step being run, if any
  const streams_origin* origin = nullptr;  // the input being processed, if any
};

InFlight& in_flight();

struct Options {
  const char* pipeline = "";      // copied; for log lines
  bool json_log = false;          // the log format
  int journal_fd = -1;            // appended to (O_APPEND); -1: no journal
  const char* journal_path = "";  // copied; for log lines
};

// Installs the handlers (process-wide). Call once, before processing starts;
// again to change the options (e.g. the journal).
void install(const Options& options);

// Gives the calling thread an alternate signal stack (once per thread).
void protect_this_thread();

// Appends the journal line for a crash with `signal` while `f` was in
// flight to `out` (at most `size` bytes, newline included); returns its
// length, 0 when `f` has no input. Async-signal-safe. For tests.
size_t journal_line(int signal, const InFlight& f, int64_t time_ms, char* out, size_t size);

}  // namespace streams::crash
