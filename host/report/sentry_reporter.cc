#include "report/sentry_reporter.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>
#include <string_view>

#include "common/clock.h"
#include "common/fnv.h"
#include "common/log.h"
#include "common/version.h"

namespace streams::report {
namespace {

using Clock = std::chrono::steady_clock;
constexpr long kTimeoutMs = 5000;
constexpr long kConnectTimeoutMs = 2000;
constexpr std::chrono::seconds kDefaultRetryAfter{60};
constexpr size_t kMaxIssues = 10000;  // past that, the memory of sent issues starts again

const char* level_name(Level level) {
  switch (level) {
    case Level::warning:
      return "warning";
    case Level::fatal:
      return "fatal";
    case Level::error:
      break;
  }
  return "error";
}

// The level and the fingerprint (else the message): what makes one issue.
uint64_t issue_key(const Event& e) {
  Fnv1a h;
  h.add_part(level_name(e.level));
  if (e.fingerprint.size() == 0) h.add_part(e.message);
  for (std::string_view part : e.fingerprint) h.add_part(part);
  return h.value();
}

double now_seconds() { return static_cast<double>(wall_ms()) / 1000; }

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string event_id(std::mt19937_64& rng) {
  char id[33];
  std::snprintf(id, sizeof id, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return id;
}

size_t discard_body(char* data, size_t size, size_t n, void* out) {
  auto* body = static_cast<std::string*>(out);
  if (body->size() < 200) body->append(data, std::min(size * n, 200 - body->size()));
  return size * n;
}

size_t read_retry_after(char* data, size_t size, size_t n, void* out) {
  const std::string_view line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string head(line.substr(0, kName.size()));
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head == kName) {
      const long seconds = std::strtol(std::string(line.substr(kName.size())).c_str(), nullptr, 10);
      if (seconds > 0) *static_cast<std::chrono::seconds*>(out) = std::chrono::seconds(seconds);
    }
  }
  return size * n;
}

}  // namespace

std::string sentry_auth(const config::SentryDeployment& s) {
  std::string auth = "Sentry sentry_version=7, sentry_client=streams-host/" STREAMS_VERSION
                     ", sentry_key=" +
                     s.public_key;
  if (!s.secret_key.empty()) auth += ", sentry_secret=" + s.secret_key;
  return auth;
}

std::string sentry_envelope(const SentryOptions& o, const PendingEvent& e,
                            const std::string& event_id) {
  nlohmann::json event = {{"event_id", event_id},
                          {"timestamp", e.timestamp},
                          {"platform", "native"},
                          {"level", level_name(e.level)},
                          {"logger", "streams-host"},
                          {"release", "streams-host@" STREAMS_VERSION},
                          {"message", {{"formatted", e.message}}}};
  if (!o.server_name.empty()) event["server_name"] = o.server_name;
  if (!o.sentry.environment.empty()) event["environment"] = o.sentry.environment;
  nlohmann::json tags = nlohmann::json::object();
  nlohmann::json extra = nlohmann::json::object();
  if (!o.pipeline.empty()) tags["pipeline"] = o.pipeline;
  for (const auto& [name, value] : e.tags) {
    // Sentry indexes tags: a partition or an offset (of a log line's
    // fields) is context, not something to search issues by.
    if (!value.empty()) (name == "partition" || name == "offset" ? extra : tags)[name] = value;
  }
  event["tags"] = tags;
  if (!e.exception_type.empty()) {
    // The bridge's message is "Type: text"; Sentry shows the type apart.
    const std::string prefix = e.exception_type + ": ";
    const std::string value =
        e.message.rfind(prefix, 0) == 0 ? e.message.substr(prefix.size()) : e.message;
    event["exception"] = {{"values", {{{"type", e.exception_type}, {"value", value}}}}};
  }
  if (!e.traceback.empty()) extra["traceback"] = e.traceback;
  if (e.suppressed > 0) extra["suppressed"] = e.suppressed;
  event["extra"] = extra;
  if (!e.fingerprint.empty()) event["fingerprint"] = e.fingerprint;
  const std::string body = dump(event);
  const nlohmann::json header = {
      {"event_id", event_id}, {"sent_at", iso_utc(wall_ms())}, {"dsn", o.sentry.dsn}};
  const nlohmann::json item = {{"type", "event"}, {"length", body.size()}};
  return dump(header) + "\n" + dump(item) + "\n" + body + "\n";
}

SentryReporter::SentryReporter(SentryOptions options) : options_(std::move(options)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);  // here, on the main thread, before any other use
  thread_ = std::thread([this] { run(); });
}

void SentryReporter::capture(const Event& e) {
  const uint64_t key = issue_key(e);
  const Clock::time_point now = Clock::now();
  uint64_t suppressed = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closing_) return;
    if (issues_.size() >= kMaxIssues) issues_.clear();
    Issue& issue = issues_[key];
    if (issue.last_sent != Clock::time_point{} &&
        now - issue.last_sent < options_.same_issue_every) {
      ++issue.suppressed;
      return;
    }
    if (queue_.size() >= options_.queue_bound) {
      ++dropped_;
      return;
    }
    issue.last_sent = now;
    suppressed = issue.suppressed;
    issue.suppressed = 0;
  }
  PendingEvent p;  // copied outside the lock
  p.level = e.level;
  p.message = e.message;
  p.exception_type = e.exception_type;
  p.traceback = e.traceback;
  for (const auto& [name, value] : e.tags) p.tags.emplace_back(name, value);
  for (std::string_view part : e.fingerprint) p.fingerprint.emplace_back(part);
  p.timestamp = now_seconds();
  p.suppressed = suppressed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(p));
  }
  wake_.notify_all();
}

void SentryReporter::flush(std::chrono::milliseconds deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait_for(lock, deadline, [this] { return queue_.empty() && !sending_; });
}

void SentryReporter::close(std::chrono::milliseconds deadline) {
  bool drained = false;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    closing_ = true;
    drained = wake_.wait_for(lock, deadline, [this] { return queue_.empty() && !sending_; });
    stopped_ = true;
  }
  wake_.notify_all();
  // A send still under way past the deadline finishes on its own; the
  // reporter outlives it (it is never destroyed).
  if (drained) {
    thread_.join();
  } else {
    thread_.detach();
  }
}

void SentryReporter::run() {
  Clock::time_point blocked_until{}, last_warning{};
  for (;;) {
    PendingEvent e;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopped_ || !queue_.empty(); });
      if (stopped_) return;
      e = std::move(queue_.front());
      queue_.pop_front();
      sending_ = true;
    }
    std::string why;
    std::chrono::seconds retry_after{0};
    if (Clock::now() < blocked_until) {
      why = "Sentry asked for a pause (429)";
    } else if (!send(e, &why, &retry_after) && retry_after.count() > 0) {
      blocked_until = Clock::now() + retry_after;
    }
    if (!why.empty() && Clock::now() - last_warning >= std::chrono::minutes(1)) {
      last_warning = Clock::now();
      log::warn("sentry: an event was not sent to " + options_.sentry.envelope_url + ": " + why);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      sending_ = false;
    }
    wake_.notify_all();
  }
}

bool SentryReporter::send(const PendingEvent& e, std::string* why,
                          std::chrono::seconds* retry_after) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  const std::string body = sentry_envelope(options_, e, event_id(rng));
  CURL* curl = curl_easy_init();
  if (!curl) {
    *why = "libcurl could not start a request";
    return false;
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/x-sentry-envelope");
  headers = curl_slist_append(headers, ("X-Sentry-Auth: " + sentry_auth(options_.sentry)).c_str());
  std::string answer;
  std::chrono::seconds asked{0};
  curl_easy_setopt(curl, CURLOPT_URL, options_.sentry.envelope_url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, kTimeoutMs);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, read_retry_after);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &asked);
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) {
    *why = curl_easy_strerror(code);
    return false;
  }
  if (status == 429) {
    *retry_after = asked.count() > 0 ? asked : kDefaultRetryAfter;
    *why = "HTTP 429, paused for " + std::to_string(retry_after->count()) + " s";
    return false;
  }
  if (status < 200 || status >= 300) {
    *why = "HTTP " + std::to_string(status) + ": " + answer;
    return false;
  }
  return true;
}

}  // namespace streams::report
