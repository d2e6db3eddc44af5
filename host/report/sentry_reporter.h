// Reports errors to Sentry (common/error_report.h's Reporter), as the
// original's runner did with its `sentry_sdk_config`: each ERROR log line and
// each record error becomes an event, sent as an envelope over HTTP(S)
// (libcurl) to the project the DSN names.
//
// Never in the way of the data: capture() only copies the event into a
// bounded queue (100 events; more are dropped and counted) after a check
// that the same issue (its fingerprint, else its message) was not sent in
// the last `same_issue_every` (then it only counts it: the next event of
// that issue carries the count as `extra.suppressed`). One thread of its own
// sends; a 429 from Sentry drops events until its Retry-After has passed; a
// failed send is a WARN line (never ERROR, which would be captured), at most
// one a minute.
//
// Lifetime: lives until the process exits (see error_report.h); close() at
// the end sends what is queued, within a deadline.
// Thread: capture() from any thread; close() once, from the main thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/error_report.h"
#include "config/deployment_config.h"

namespace streams::report {

struct SentryOptions {
  config::SentryDeployment sentry;
  std::string pipeline;     // the "pipeline" tag
  std::string server_name;  // this machine's name
  std::chrono::seconds same_issue_every{60};
  size_t queue_bound = 100;
};

// An event as captured: owned copies of report::Event's views.
struct PendingEvent {
  Level level = Level::error;
  std::string message, exception_type, traceback;
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<std::string> fingerprint;
  double timestamp = 0;     // seconds since the epoch, at capture
  uint64_t suppressed = 0;  // events of this issue not sent since the last one
};

// The envelope Sentry's /api/PROJECT/envelope/ takes: its header, the item
// header and the event's JSON, one a line. Pure.
std::string sentry_envelope(const SentryOptions& o, const PendingEvent& e,
                            const std::string& event_id);
// "Sentry sentry_version=7, sentry_client=streams-host/V, sentry_key=K[, sentry_secret=S]".
std::string sentry_auth(const config::SentryDeployment& s);

class SentryReporter final : public Reporter {
 public:
  explicit SentryReporter(SentryOptions options);  // starts the sending thread
  SentryReporter(const SentryReporter&) = delete;
  SentryReporter& operator=(const SentryReporter&) = delete;

  void capture(const Event& event) override;
  // Waits until what is queued is sent, for at most `deadline`: before
  // something that may end the process at once (a crash loop's next run).
  void flush(std::chrono::milliseconds deadline);
  // Sends what is queued for at most `deadline`, then stops the thread;
  // later captures are dropped.
  void close(std::chrono::milliseconds deadline);

 private:
  struct Issue {
    std::chrono::steady_clock::time_point last_sent{};
    uint64_t suppressed = 0;
  };
  void run();
  bool send(const PendingEvent& e, std::string* why, std::chrono::seconds* retry_after);

  const SentryOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<PendingEvent> queue_;
  std::unordered_map<uint64_t, Issue> issues_;
  bool closing_ = false, stopped_ = false, sending_ = false;
  uint64_t dropped_ = 0;
  std::thread thread_;
};

}  // namespace streams::report
