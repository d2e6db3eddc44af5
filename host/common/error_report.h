// Errors worth a person's attention, handed to an error-tracking service
// (Sentry, when the deployment config names a `sentry_sdk_config.dsn`):
// every ERROR log line, and every record error (a step failed on a record,
// whether it then went to the DLQ or was skipped).
//
// Process-wide: one Reporter, installed by the run command before the
// runtime starts and never destroyed (any thread may capture until exit).
// Thread: capture() is called from any thread, the processing threads
// included; it must not block on I/O, must not log at ERROR (a capture
// would recurse), and copies what it keeps: the views are valid only
// during the call.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace streams::report {

enum class Level { warning, error, fatal };

struct Event {
  Level level = Level::error;
  std::string_view message;
  // A record error's exception (a plugin's or Python's), "" if none.
  std::string_view exception_type;
  std::string_view traceback;
  // Searchable key-value pairs (step, plugin, kind, topic, ...).
  std::initializer_list<std::pair<std::string_view, std::string_view>> tags;
  // What makes two events the same issue; empty: the message.
  std::initializer_list<std::string_view> fingerprint;
};

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void capture(const Event& event) = 0;
};

// Installs `r` (null: none). Not owned; it must live until the process exits.
void set_reporter(Reporter* r);
// Passes `event` to the installed reporter, if any; cheap when none is.
void capture(const Event& event);
// An ERROR log line as an event: its issue is its text with every number
// masked (numbers_masked), so lines that differ only in an offset, a count
// or a duration are one issue. Cheap when no reporter is installed.
void capture_line(std::string_view message,
                  std::initializer_list<std::pair<std::string_view, std::string_view>> fields);
// `text` with each run of digits not right after a letter or '_' replaced
// by "<n>": "s-in[0]@6 after 3097 ms" -> "s-in[<n>]@<n> after <n> ms";
// "utf8", "v2" and "step_3" stay.
std::string numbers_masked(std::string_view text);

}  // namespace streams::report
