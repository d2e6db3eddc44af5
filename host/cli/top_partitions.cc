#include "cli/top_partitions.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>
#include <vector>

namespace streams::cli {
namespace {

constexpr size_t kMaxPartitionRows = 32;

const char* state_of(const nlohmann::json& p) {
  return p.value("restoring", false) ? "restoring"
         : p.value("drained", false) ? "drained"
         : p.value("paused", false)  ? "paused"
                                     : "running";
}

double lag_of(const nlohmann::json& p) {
  const nlohmann::json lag = p.value("lag", nlohmann::json());
  return lag.is_number() ? lag.get<double>() : -1;
}

std::string offset_text(const nlohmann::json& v) {
  return v.is_number() && v.get<int64_t>() >= 0 ? std::to_string(v.get<int64_t>()) : "-";
}

// The rows to show, in order: all in /status's order when they fit, else
// the kMaxPartitionRows that most need a look.
std::vector<size_t> rows(const nlohmann::json& parts) {
  std::vector<size_t> order(parts.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (order.size() <= kMaxPartitionRows) return order;
  const auto needs_look = [&parts](size_t a, size_t b) {
    const bool a_stopped = std::string(state_of(parts[a])) != "running";
    const bool b_stopped = std::string(state_of(parts[b])) != "running";
    if (a_stopped != b_stopped) return a_stopped;
    return lag_of(parts[a]) > lag_of(parts[b]);
  };
  std::stable_sort(order.begin(), order.end(), needs_look);
  order.resize(kMaxPartitionRows);
  return order;
}

}  // namespace

std::string partitions_table(const nlohmann::json& status) {
  const nlohmann::json parts = status.value("partitions", nlohmann::json::array());
  if (parts.empty()) return "";
  const bool cut = parts.size() > kMaxPartitionRows;
  char line[256];
  std::snprintf(line, sizeof line, "\n%-10s %6s %12s %12s %10s %10s  %s%s\n", "PARTITION", "THREAD",
                "POSITION", "COMMITTED", "LAG", "IN FLIGHT", "STATE",
                cut ? "   (not running, then the most lag, first)" : "");
  std::string out = line;
  for (size_t i : rows(parts)) {
    const nlohmann::json& p = parts[i];
    const double lag = lag_of(p);
    std::snprintf(line, sizeof line, "%-10d %6d %12s %12s %10s %10s  %s\n",
                  p.value("partition", -1), p.value("thread", 0),
                  offset_text(p.value("position", nlohmann::json())).c_str(),
                  offset_text(p.value("committed", nlohmann::json())).c_str(),
                  lag >= 0 ? std::to_string(static_cast<int64_t>(lag)).c_str() : "-",
                  std::to_string(p.value("in_flight", uint64_t{0})).c_str(), state_of(p));
    out += line;
  }
  if (cut) out += "... " + std::to_string(parts.size() - kMaxPartitionRows) + " more\n";
  return out;
}

}  // namespace streams::cli
