#include "config/connection_settings.h"

#include <algorithm>

namespace streams::config {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

bool is_connection_setting(std::string_view key) {
  return key == "security.protocol" || starts_with(key, "ssl.") || starts_with(key, "ssl_") ||
         starts_with(key, "sasl.") || starts_with(key, "enable.ssl.") ||
         starts_with(key, "enable.sasl.");
}

Settings connection_settings(const Settings& params) {
  Settings out;
  for (const auto& kv : params) {
    if (is_connection_setting(kv.first)) out.push_back(kv);
  }
  return out;
}

bool is_secret_setting(std::string_view key) {
  return key.find("password") != std::string_view::npos ||
         key.find("secret") != std::string_view::npos || key == "ssl.key.pem" || key == "ssl_key" ||
         key == "sasl.oauthbearer.config";
}

bool same_brokers(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> x = a, y = b;
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  return x == y;
}

bool dlq_on_source_brokers(const StepDeployment& source) {
  return source.dlq.bootstrap_servers.empty() ||
         same_brokers(source.dlq.bootstrap_servers, source.bootstrap_servers);
}

}  // namespace streams::config
