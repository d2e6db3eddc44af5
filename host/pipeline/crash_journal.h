// The crash journal: what crashed the host, so that a restart can go past it
// (poison-pill quarantine). One file per consumer group, one line per fatal
// signal while an input was processed, appended by the crash guard's signal
// handler (common/crash_guard.h) through the descriptor this class opens:
//
//   crash <TAB> unix ms <TAB> signal <TAB> topic <TAB> partition <TAB> offset
//         <TAB> step <TAB> plugin <TAB> plugin version
//
// Appends of one short line are atomic, so hosts of one group on one machine
// may share the file. At open the file is read, and cut to its last
// kMaxLines lines.
//
// Thread: open() and the queries on the control thread before processing
// starts; the result is read-only after.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace streams::pipeline {

// One input that crashed the host, with how often and where last.
struct Crash {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  uint32_t count = 0;
  std::string signal, step, plugin, version;  // of the last crash
};

// An input not to run through `step` (empty: the first step): a record
// error of `kind` there instead (kErrCrash for the journal's; the runtime
// also rejects inputs it cannot hand to the steps, such as a header block
// that cannot be parsed).
struct Quarantine {
  int64_t offset;
  std::string step;
  std::string message;  // for the DLQ's error message and the logs
  int32_t kind = 101;   // pipeline::kErrCrash
};

class CrashJournal {
 public:
  static constexpr size_t kMaxLines = 1000;

  // Opens (creating it and its directory) the journal at `path`. Null with
  // *error when it cannot be read or written.
  static std::unique_ptr<CrashJournal> open(const std::string& path, std::string* error);
  ~CrashJournal();
  CrashJournal(const CrashJournal&) = delete;
  CrashJournal& operator=(const CrashJournal&) = delete;

  // The descriptor the signal handler appends to (O_APPEND); owned here.
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  const std::vector<Crash>& crashes() const { return crashes_; }

  // The inputs of topic[partition] that crashed the host at least `limit`
  // times (none when limit is 0), by offset.
  std::vector<Quarantine> quarantined(std::string_view topic, int32_t partition,
                                      uint32_t limit) const;

  // Parses journal text: lines that are not journal lines are ignored.
  static std::vector<Crash> parse(std::string_view text);

 private:
  CrashJournal(std::string path, int fd, std::vector<Crash> crashes)
      : path_(std::move(path)), fd_(fd), crashes_(std::move(crashes)) {}

  std::string path_;
  int fd_;
  std::vector<Crash> crashes_;
};

// A consumer group's file in the state directory: "<dir>/<group><suffix>",
// with characters other than [A-Za-z0-9._-] in the group name replaced by '_'.
std::string group_file_path(const std::string& dir, const std::string& group, const char* suffix);
// group_file_path(dir, group, ".crashes").
std::string crash_journal_path(const std::string& dir, const std::string& group);

}  // namespace streams::pipeline
