#include "cli/top.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cli/admin_client.h"
#include "cli/top_partitions.h"
#include "common/clock.h"

namespace streams::cli {
namespace {

using Labels = std::map<std::string, std::string>;

struct Series {
  std::string name;
  Labels labels;
  double value;
  std::string family;  // of the last "# TYPE" line, when `name` starts with it
  std::string type;    // that line's type: "counter", "gauge", "histogram"...
};

// Parses the Prometheus text format (other comments skipped).
std::vector<Series> parse_metrics(const std::string& text) {
  std::vector<Series> out;
  std::string family, type;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    if (line.rfind("# TYPE ", 0) == 0) {
      const size_t space = line.find(' ', 7);
      family = line.substr(7, space == std::string::npos ? std::string::npos : space - 7);
      type = space == std::string::npos ? "" : line.substr(space + 1);
    }
    if (line.empty() || line[0] == '#') continue;
    Series s;
    if (line.rfind(family, 0) == 0) {
      s.family = family;
      s.type = type;
    }
    size_t i = line.find_first_of("{ ");
    if (i == std::string::npos) continue;
    s.name = line.substr(0, i);
    if (line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find("=\"", i);
        if (eq == std::string::npos) break;
        const std::string key = line.substr(i, eq - i);
        std::string value;
        for (i = eq + 2; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\' && i + 1 < line.size()) ++i;
          value.push_back(line[i]);
        }
        s.labels[key] = value;
        i += line[i + 1] == ',' ? 2 : 1;
      }
      ++i;
    }
    s.value = std::strtod(line.c_str() + i, nullptr);
    out.push_back(std::move(s));
  }
  return out;
}

double total(const std::vector<Series>& all, const std::string& name, const Labels& want = {}) {
  double sum = 0;
  for (const Series& s : all) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : want) {
      auto it = s.labels.find(k);
      match = match && it != s.labels.end() && it->second == v;
    }
    if (match) sum += s.value;
  }
  return sum;
}

std::string rate(double now, double before, double seconds, bool known) {
  if (!known || seconds <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", (now - before) / seconds);
  return buf;
}

std::string fixed(double v, const char* format = "%.0f") {
  char buf[32];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// What plugins keep themselves (streams_plugin_*): each counter with its
// rate, each gauge's value, each histogram's count with its rate and its
// mean; empty when there are none.
std::string plugin_metrics_table(const std::vector<Series>& now, const std::vector<Series>& before,
                                 double seconds) {
  static const std::string prefix = "streams_plugin_";
  std::string out;
  char line[256];
  for (const Series& s : now) {
    if (s.family.size() <= prefix.size() || s.family.rfind(prefix, 0) != 0) continue;
    const bool counter = s.type == "counter", gauge = s.type == "gauge";
    const bool histogram = s.type == "histogram" && s.name == s.family + "_count";
    if (!counter && !gauge && !histogram) continue;
    if (out.empty()) {
      std::snprintf(line, sizeof line, "\n%-20s %-30s %-9s %14s %10s\n", "STEP", "PLUGIN METRIC",
                    "KIND", "VALUE", "PER s");
      out = line;
    }
    const auto step = s.labels.find("step");
    const Labels which{{"step", step == s.labels.end() ? "" : step->second}};
    std::string name = s.family.substr(prefix.size());
    if (counter && name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0) {
      name.resize(name.size() - 6);
    }
    const std::string per_s =
        gauge ? "-" : rate(s.value, total(before, s.name, which), seconds, !before.empty());
    std::string mean;
    if (histogram && s.value > 0) {
      mean = "  mean " + fixed(total(now, s.family + "_sum", which) / s.value, "%.4g");
    }
    std::snprintf(line, sizeof line, "%-20s %-30s %-9s %14s %10s%s\n", which.at("step").c_str(),
                  name.c_str(), s.type.c_str(), fixed(s.value, gauge ? "%.6g" : "%.0f").c_str(),
                  per_s.c_str(), mean.c_str());
    out += line;
  }
  return out;
}

// One frame: `now` and `before` (empty on the first) taken `seconds` apart.
std::string frame(const std::vector<Series>& now, const std::vector<Series>& before, double seconds,
                  const nlohmann::json& status, const AdminArgs& where) {
  const bool rates = !before.empty();
  std::string out = "streams-host top: pipeline " + status.value("pipeline", std::string("?")) +
                    ", generation " + std::to_string(status.value("generation", 0)) + " (" +
                    where.admin_address + ":" + std::to_string(where.admin_port) + ")\n";
  if (status.value("paused", false)) {
    const nlohmann::json since = status.value("paused_since_ms", nlohmann::json());
    out += "PAUSED by the operator" +
           (since.is_number()
                ? " " + fixed((wall_ms() - since.get<int64_t>()) / 1000.0, "%.0f") + " s ago"
                : std::string()) +
           " (streams-host resume)\n";
  }
  const double last_commit = total(now, "streams_commit_age_seconds");
  bool lag_known = false;      // librdkafka's first statistics come after an interval
  bool latency_known = false;  // after a commit of inputs with timestamps
  for (const Series& s : now) {
    lag_known = lag_known || s.name == "streams_consumer_lag";
    latency_known = latency_known || s.name == "streams_commit_latency_seconds";
  }
  out += "consumed " +
         rate(total(now, "streams_consumed_total"), total(before, "streams_consumed_total"),
              seconds, rates) +
         "/s  delivered " +
         rate(total(now, "streams_delivered_total"), total(before, "streams_delivered_total"),
              seconds, rates) +
         "/s  lag " + (lag_known ? fixed(total(now, "streams_consumer_lag")) : std::string("-")) +
         "  in flight " + fixed(total(now, "streams_in_flight_inputs")) + "  paused " +
         fixed(total(now, "streams_paused_partitions")) + "/" +
         fixed(total(now, "streams_assigned_partitions")) + "  DLQ " +
         fixed(total(now, "streams_dead_letters_total")) + "  skipped " +
         fixed(total(now, "streams_skipped_total")) + "  last commit " +
         (last_commit > 0 ? fixed(last_commit, "%.1f") + " s ago" : std::string("-")) +
         (latency_known
              ? ", " + fixed(total(now, "streams_commit_latency_seconds"), "%.1f") + " s behind"
              : std::string()) +
         "\n";
  const nlohmann::json last = status.value("last_reload", nlohmann::json());
  if (last.is_object()) {
    out += "last reload: " + last.value("outcome", std::string("?")) + " (" +
           last.value("trigger", std::string("?")) + ") " +
           fixed((wall_ms() - last.value("finished_ms", int64_t{0})) / 1000.0, "%.0f") + " s ago" +
           (last.contains("error") ? ": " + last.value("error", std::string()) : "") + "\n";
  }
  char line[256];
  std::snprintf(line, sizeof line, "\n%-20s %-12s %10s %10s %8s  %s\n", "STEP", "KIND", "IN/s",
                "OUT/s", "ERRORS", "PLUGIN");
  out += line;
  for (const auto& step : status.value("steps", nlohmann::json::array())) {
    const std::string name = step.value("name", std::string("?"));
    const Labels which{{"step", name}};
    const std::string plugin = step.contains("plugin") ? step.value("plugin", std::string()) + " " +
                                                             step.value("version", std::string())
                                                       : "";
    std::snprintf(line, sizeof line, "%-20s %-12s %10s %10s %8s  %s\n", name.c_str(),
                  step.value("kind", std::string("?")).c_str(),
                  rate(total(now, "streams_step_records_in_total", which),
                       total(before, "streams_step_records_in_total", which), seconds, rates)
                      .c_str(),
                  rate(total(now, "streams_step_records_out_total", which),
                       total(before, "streams_step_records_out_total", which), seconds, rates)
                      .c_str(),
                  fixed(total(now, "streams_step_errors_total", which)).c_str(), plugin.c_str());
    out += line;
  }
  return out + plugin_metrics_table(now, before, seconds) + partitions_table(status);
}

}  // namespace

int top_command(const TopArgs& args, const std::atomic<bool>& stop) {
  AdminClient client(args.admin);
  if (!client.init()) return 2;
  const bool tty = ::isatty(STDOUT_FILENO);
  std::vector<Series> before;
  auto taken = std::chrono::steady_clock::now();
  for (int shown = 0; !stop.load() && (args.frames == 0 || shown < args.frames); ++shown) {
    const auto m = client.request("GET", "/metrics", args.admin.timeout_ms);
    const auto s = client.request("GET", "/status", args.admin.timeout_ms);
    if (m.status != 200 || s.status != 200) {
      std::fprintf(stderr, "error: %s\n", (m.status != 200 ? m : s).body.c_str());
      return 2;
    }
    const auto now_time = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now_time - taken).count();
    std::vector<Series> now = parse_metrics(m.body);
    const std::string text =
        frame(now, before, seconds, nlohmann::json::parse(s.body, nullptr, false), args.admin);
    std::fputs(tty ? "\033[H\033[2J" : (shown ? "\n" : ""), stdout);
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    before = std::move(now);
    taken = now_time;
    if (args.frames != 0 && shown + 1 >= args.frames) break;
    // The view's refresh period (not a wait for a condition); ends early on a stop.
    const auto next = taken + std::chrono::milliseconds(args.interval_ms);
    while (!stop.load() && std::chrono::steady_clock::now() < next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return 0;
}

}  // namespace streams::cli
