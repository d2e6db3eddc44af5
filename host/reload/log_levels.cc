#include "reload/log_levels.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/clock.h"

namespace streams::reload {
namespace {

constexpr std::string_view kPrefix = "/log-level";

admin::Response refused(unsigned status, const std::string& error) {
  return {status, nlohmann::json{{"error", error}}.dump()};
}

// Sets `level`, saying so in `line`, which shows under the old level and
// the new (at info, or at warn or error when both are above info).
void say(log::Level level, const std::string& line) {
  const log::Level verbose = std::min(level, log::level());
  log::set_level(verbose);
  log::write(std::max(log::Level::info, verbose), line);
  log::set_level(level);
}

}  // namespace

struct LogLevels::Timer {
  explicit Timer(boost::asio::io_context& io) : timer(io) {}
  boost::asio::steady_timer timer;
};

LogLevels::LogLevels(boost::asio::io_context& io, log::Level initial)
    : timer_(std::make_unique<Timer>(io)), initial_(initial) {}

LogLevels::~LogLevels() = default;

bool LogLevels::is_target(const std::string& target) {
  return target.rfind(kPrefix, 0) == 0 &&
         (target.size() == kPrefix.size() || target[kPrefix.size()] == '/');
}

admin::Response LogLevels::serve(const std::string& method, const std::string& target) {
  const std::string rest = target.substr(kPrefix.size());
  if (rest.empty() || rest == "/") {
    if (method != "GET") return refused(405, "use GET /log-level or POST /log-level/LEVEL");
    return answer();
  }
  if (method != "POST") return refused(405, "use POST /log-level/LEVEL[?for=DURATION]");
  const size_t query = rest.find('?');
  const std::string given = rest.substr(1, query == std::string::npos ? query : query - 1);
  log::Level level;
  if (!log::parse_level(given, &level)) {
    return refused(400, "log level '" + given + "': expected debug, info, warn or error");
  }
  int64_t for_ms = 0;
  if (query != std::string::npos) {
    const std::string q = rest.substr(query + 1);
    if (q.rfind("for=", 0) != 0 || !parse_duration(q.substr(4), &for_ms) || for_ms <= 0) {
      return refused(400, "'?" + q + "': expected ?for=DURATION, such as 90s, 15m or 2h");
    }
  }
  const log::Level was = log::level();
  timer_->timer.cancel();
  until_ms_ = for_ms > 0 ? wall_ms() + for_ms : 0;
  say(level, std::string("log level ") + log::name(level) + " (was " + log::name(was) +
                 ", POST /log-level)" +
                 (for_ms > 0 ? std::string(" until ") + iso_utc(until_ms_) + ", then " +
                                   log::name(initial_)
                             : std::string()));
  if (for_ms > 0) revert_after(for_ms);
  return answer();
}

admin::Response LogLevels::answer() const {
  nlohmann::json j = {{"level", log::name(log::level())}, {"initial", log::name(initial_)}};
  j["until_ms"] = until_ms_ ? nlohmann::json(until_ms_) : nlohmann::json(nullptr);
  return {200, j.dump()};
}

void LogLevels::revert_after(int64_t ms) {
  timer_->timer.expires_after(std::chrono::milliseconds(ms));
  timer_->timer.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    until_ms_ = 0;
    say(initial_, std::string("log level back to ") + log::name(initial_) + " (was " +
                      log::name(log::level()) + " for the time POST /log-level gave)");
  });
}

}  // namespace streams::reload
