#include "cli/admin_client.h"

#include <cstdio>

namespace streams::cli {

bool AdminClient::init() {
  std::string error;
  if (admin_token(args_.admin_token_file, &token_, &error)) return true;
  std::fprintf(stderr, "error: %s\n", error.c_str());
  return false;
}

admin::Response AdminClient::request(const char* method, const std::string& target,
                                     int timeout_ms) const {
  return admin::request(args_.admin_address, static_cast<uint16_t>(args_.admin_port), method,
                        target, timeout_ms, token_);
}

nlohmann::json AdminClient::ask(const char* method, const std::string& target, int timeout_ms,
                                int* exit) const {
  return answer(method, target, request(method, target, timeout_ms), exit);
}

nlohmann::json AdminClient::answer(const char* method, const std::string& target,
                                   const admin::Response& r, int* exit) const {
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (r.status == 200 && j.is_object()) return j;
  *exit = r.status == 0 ? 2 : 1;
  std::fprintf(stderr, "error: %s %s: %s\n", method, target.c_str(),
               r.status == 0 ? r.body.c_str() : (std::to_string(r.status) + " " + r.body).c_str());
  return nullptr;
}

}  // namespace streams::cli
