// `streams-host pause` and `resume`: the operator's pause of a running host
// through its admin endpoint (POST /pause, /resume), and for `pause` the
// wait until what was in flight is committed (GET /status).
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/admin_client.h"
#include "common/clock.h"

namespace streams::cli {
namespace {

constexpr int kStatusPollMs = 200;

// What keeps `p` (a partition of GET /status) from being drained, or "".
std::string not_drained(const nlohmann::json& p) {
  if (p.value("drained", false)) return "";
  const std::string who = "partition " + std::to_string(p.value("partition", -1));
  if (p.value("restoring", false)) return who + ": restoring its state";
  if (const uint64_t n = p.value("in_flight", uint64_t{0})) {
    return who + ": " + std::to_string(n) +
           " input(s) in flight (open batches or windows hold them until they close, or their "
           "sinks have not acknowledged their outputs)";
  }
  return who + ": its last commit is not confirmed yet (position " +
         std::to_string(p.value("position", int64_t{-1})) + ", committed " +
         std::to_string(p.value("committed", int64_t{-1})) + ")";
}

void print_paused(const nlohmann::json& answer) {
  const auto since = answer["since_ms"];
  std::printf("paused since %s\n",
              since.is_number() ? iso_utc(since.get<int64_t>()).c_str() : "(unknown)");
}

}  // namespace

int pause_command(const PauseArgs& args) {
  AdminClient client(args.admin);
  if (!client.init()) return 2;
  const int64_t deadline = steady_ms() + args.admin.timeout_ms;
  int exit = 0;
  const nlohmann::json answer = client.ask("POST", "/pause", args.admin.timeout_ms, &exit);
  if (answer.is_null()) return exit;
  print_paused(answer);
  if (args.no_wait) return 0;
  std::string left = "no answer from GET /status";
  for (;;) {
    const int64_t remaining = deadline - steady_ms();
    if (remaining <= 0) break;
    const nlohmann::json status =
        client.ask("GET", "/status", static_cast<int>(std::min<int64_t>(remaining, 5000)), &exit);
    if (status.is_null()) return exit;
    if (!status.value("paused", false)) {
      std::fprintf(stderr, "error: the host is no longer paused (resumed meanwhile)\n");
      return 1;
    }
    const nlohmann::json& partitions = status["partitions"];
    left.clear();
    for (const auto& p : partitions) {
      const std::string why = not_drained(p);
      if (!why.empty()) left += (left.empty() ? "" : "; ") + why;
    }
    if (left.empty()) {
      std::printf("drained: %zu partition(s) assigned, every input begun completed and committed\n",
                  partitions.size());
      for (const auto& p : partitions) {
        const int64_t at = p.value("position", int64_t{-1});
        std::printf("  partition %d: %s\n", p.value("partition", -1),
                    at < 0 ? "nothing read since its assignment"
                           : ("stops before offset " + std::to_string(at)).c_str());
      }
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::min<int64_t>(kStatusPollMs, std::max<int64_t>(1, deadline - steady_ms()))));
  }
  std::fprintf(stderr,
               "error: paused, but not drained within %d ms: %s (streams-host status shows more; "
               "the host stays paused)\n",
               args.admin.timeout_ms, left.c_str());
  return 1;
}

int resume_command(const AdminArgs& args) {
  AdminClient client(args);
  if (!client.init()) return 2;
  int exit = 0;
  const nlohmann::json answer = client.ask("POST", "/resume", args.timeout_ms, &exit);
  if (answer.is_null()) return exit;
  std::printf("%s\n", answer.value("paused", true) ? "still paused" : "running");
  return answer.value("paused", true) ? 1 : 0;
}

}  // namespace streams::cli
