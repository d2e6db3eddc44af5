// The log level of a running host, changed through its admin endpoint to
// look into a live problem without a restart: GET /log-level, and POST
// /log-level/LEVEL, optionally ?for=DURATION ("90s", "15m", "2h"), after
// which the level the host started with comes back, so that a forgotten
// debug level does not flood the logs for good.
//
// Thread: the admin thread, whose io_context runs the timer; `io` outlives
// this.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "admin/admin_server.h"
#include "common/log.h"

namespace boost::asio {
class io_context;
}

namespace streams::reload {

class LogLevels {
 public:
  // `initial`: the level the host started with, which a change for a
  // duration returns to.
  LogLevels(boost::asio::io_context& io, log::Level initial);
  ~LogLevels();
  LogLevels(const LogLevels&) = delete;
  LogLevels& operator=(const LogLevels&) = delete;

  // True for the targets serve() answers.
  static bool is_target(const std::string& target);
  // Answers GET /log-level and POST /log-level/LEVEL[?for=DURATION]:
  // {"level", "initial", "until_ms" (null: until changed again)}, 400 for
  // a level or duration it cannot read.
  admin::Response serve(const std::string& method, const std::string& target);

 private:
  admin::Response answer() const;
  void revert_after(int64_t ms);

  struct Timer;
  std::unique_ptr<Timer> timer_;
  const log::Level initial_;
  int64_t until_ms_ = 0;  // wall clock: when initial_ comes back (0: not set)
};

}  // namespace streams::reload
