#include "metrics/plugin_counters.h"

namespace streams::metrics {
namespace {

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

uint32_t PluginCounters::counter(std::string_view step, std::string_view name, std::string* why) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto refuse = [&](std::string reason) {
    std::string key = std::string(step) + '\0' + std::string(name.substr(0, 80));
    if (refused_.size() < kMax && refused_.insert(std::move(key)).second) *why = std::move(reason);
    return 0u;
  };
  if (!valid_name(name)) {
    return refuse("counter name '" + std::string(name.substr(0, 80)) +
                  "' refused: expected 1 to 64 of a-z, 0-9 and _");
  }
  const std::string family = "plugin_" + std::string(name) + "_total";
  const size_t n = size_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < n; ++i) {
    if (keys_[i].family == family && keys_[i].step == step) return static_cast<uint32_t>(i + 1);
  }
  if (n == kMax) {
    return refuse("counter '" + std::string(name) + "' refused: the host's " +
                  std::to_string(kMax) + " plugin counters are taken");
  }
  keys_[n] = {family, std::string(step)};
  size_.store(n + 1, std::memory_order_release);
  return static_cast<uint32_t>(n + 1);
}

PluginCounters& plugin_counters() {
  static PluginCounters counters;  // lives until exit: plugins may count until then
  return counters;
}

}  // namespace streams::metrics
