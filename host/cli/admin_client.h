// A client of a running host's admin endpoint, for the commands that talk
// to one (reload, status, top, state, pause, resume, log-level): the token
// from --admin-token-file or $STREAMS_ADMIN_TOKEN, then its requests.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "admin/admin_server.h"
#include "cli/commands.h"

namespace streams::cli {

class AdminClient {
 public:
  // `args` outlives the client.
  explicit AdminClient(const AdminArgs& args) : args_(args) {}
  // Reads the token; false after printing why it cannot.
  bool init();
  // Status 0 with the reason in the body when there is no answer.
  admin::Response request(const char* method, const std::string& target, int timeout_ms) const;
  // The answer's JSON object when its status is 200; else null, after
  // printing why, with the exit status for it in *exit: 2 when there was no
  // answer, 1 when the host refused.
  nlohmann::json ask(const char* method, const std::string& target, int timeout_ms,
                     int* exit) const;
  // As ask, for a request already made.
  nlohmann::json answer(const char* method, const std::string& target, const admin::Response& r,
                        int* exit) const;

 private:
  const AdminArgs& args_;
  std::string token_;
};

}  // namespace streams::cli
