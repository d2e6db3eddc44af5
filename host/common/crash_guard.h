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

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include <streams/plugin_abi.h>

namespace streams::crash {

// A step as the handler names it. Labels come from intern_label(), so one
// that another thread read from an InFlight stays readable whatever the
// processing thread has done since (finished the step, switched generations).
struct StepLabel {
  const char* name;
  const char* plugin;   // "" for built-in steps
  const char* version;  // "" for built-in steps
};

// What the calling thread is doing. Written by that thread only (relaxed
// atomic stores: plain moves on x86 and arm64), so other threads may read
// it; see describe_processing().
struct InFlight {
  std::atomic<const StepLabel*> step{nullptr};         // the step being run, if any
  std::atomic<const streams_origin*> origin{nullptr};  // the input being processed, if any
  // Copies of the origin's fields, for other threads: the origin itself may
  // be gone (a stack object of the processing thread) by the time they read.
  // The topic's characters are interned (intern()).
  std::atomic<const char*> topic{nullptr};
  std::atomic<int32_t> partition{-1};
  std::atomic<int64_t> offset{-1};

  const StepLabel* current_step() const { return step.load(std::memory_order_relaxed); }
  const streams_origin* current_origin() const { return origin.load(std::memory_order_relaxed); }
  void set_step(const StepLabel* s) { step.store(s, std::memory_order_relaxed); }
  void set_origin(const streams_origin* o) {
    if (o) {
      topic.store(o->topic, std::memory_order_relaxed);
      partition.store(o->partition, std::memory_order_relaxed);
      offset.store(o->offset, std::memory_order_relaxed);
    }
    origin.store(o, std::memory_order_relaxed);
  }
};

// A copy of `text` that lives as long as the process: for what other threads
// read through an InFlight (a topic name). Control plane (takes a lock); the
// same text gives the same pointer, so memory grows only with new texts.
const char* intern(std::string_view text);
// The label of a step, interned likewise (a few bytes per distinct step
// name, plugin and version over the process's life).
const StepLabel* intern_label(std::string_view name, std::string_view plugin,
                              std::string_view version);

// The calling thread's (constant-initialised, so a plain TLS access).
inline thread_local InFlight g_in_flight;
inline InFlight& in_flight() { return g_in_flight; }

// A processing thread registers its InFlight for as long as it runs (the
// scope's life, on that thread), so that other threads can say where it is
// when it stalls.
class ProcessingThread {
 public:
  ProcessingThread();
  ~ProcessingThread();
  ProcessingThread(const ProcessingThread&) = delete;
  ProcessingThread& operator=(const ProcessingThread&) = delete;
};
// "in step 'S' (plugin P V) at TOPIC[P]@O", "between records", or "" when no
// thread is registered; with several threads, each one's ("thread 2: ...")
// joined by "; ". Safe from another thread at any time: the labels and
// topics an InFlight points at are interned (the record it names may be a
// later one than the caller saw stall).
std::string describe_processing();
// The same for the thread whose InFlight `f` is ("" for null).
std::string describe(const InFlight* f);

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

// exit() called by anything but the host's own return from main (a plugin
// calling exit(0) looked like a clean stop): logged and journaled like a
// fatal signal ("exit()"), and the process ends with status 70. guard_exit()
// arms it (once); allow_exit() disarms it before main returns.
void guard_exit();
void allow_exit();

// Appends the journal line for a crash with `signal` while `f` was in
// flight to `out` (at most `size` bytes, newline included); returns its
// length, 0 when `f` has no input. Async-signal-safe. For tests.
size_t journal_line(int signal, const InFlight& f, int64_t time_ms, char* out, size_t size);

}  // namespace streams::crash
