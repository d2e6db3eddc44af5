#include "admin/health.h"

#include <dirent.h>

#include <fstream>
#include <sstream>

#include "common/clock.h"
#include "common/crash_guard.h"
#include "common/log.h"
#include "pipeline/chain.h"
#include "pipeline/source.h"

namespace streams::admin {
namespace {

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

HealthAnswer answer(const std::string& reason, bool benign = false) {
  if (reason.empty()) return {true, R"({"ok": true})", "", false};
  std::string escaped;
  for (char c : reason)
    escaped += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
  return {false, "{\"ok\": false, \"reason\": \"" + escaped + "\"}", reason, benign};
}

}  // namespace

std::string thread_states() {
  std::string out;
  DIR* dir = ::opendir("/proc/self/task");
  if (!dir) return "(no /proc/self/task)";
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const std::string task = std::string("/proc/self/task/") + e->d_name;
    // stat: "tid (comm) S ..."; the state follows the last ')'.
    const std::string stat = read_line(task + "/stat");
    const size_t paren = stat.rfind(')');
    const char state =
        paren != std::string::npos && paren + 2 < stat.size() ? stat[paren + 2] : '?';
    out += "\n  thread " + std::string(e->d_name) + " '" + read_line(task + "/comm") + "' state " +
           state + " waiting in " + read_line(task + "/wchan");
  }
  ::closedir(dir);
  return out;
}

std::string Health::stalled() {
  const std::unique_ptr<metrics::PipelineMetrics> merged =
      metrics_.sharded() ? metrics_.merged() : nullptr;
  const uint64_t loop = (merged ? *merged : metrics_).runtime().loop_ms.value();
  if (loop == 0) return "";  // starting: plugins load and the consumer starts first
  const int64_t idle = steady_ms() - static_cast<int64_t>(loop);
  if (idle <= options_.liveness_timeout_ms) {
    reported_ = false;
    return "";
  }
  const std::string where = crash::describe_processing();
  const std::string why = "the processing loop has not turned for " + std::to_string(idle) +
                          " ms (liveness_timeout_ms " +
                          std::to_string(options_.liveness_timeout_ms) + ")" +
                          (where.empty() ? "" : "; it is " + where);
  if (!reported_) {
    reported_ = true;
    log::error(why + "; threads:" + thread_states());
  }
  return why;
}

HealthAnswer Health::live() { return answer(stalled()); }

HealthAnswer Health::ready() {
  const std::string stall = stalled();
  if (!stall.empty()) return answer(stall);
  const std::unique_ptr<metrics::PipelineMetrics> merged =
      metrics_.sharded() ? metrics_.merged() : nullptr;
  const metrics::RuntimeMetrics& r = (merged ? *merged : metrics_).runtime();
  if (r.loop_ms.value() == 0) return answer("starting");
  if (r.assigned_partitions.value() == 0) {
    if (const uint64_t why = r.topic_unavailable.value()) {
      const std::string topic = (merged ? *merged : metrics_).source().first;
      return answer(why == static_cast<uint64_t>(pipeline::SourceHandler::Unavailable::missing)
                        ? "the source topic " + topic + " does not exist on its brokers"
                        : "this host may not read the source topic " + topic);
    }
    if (r.group_joined.value() == 0) return answer("joining the group", true);
    // A standby: ready to take partitions from a member that leaves. Not
    // ready, it would hold a rollout that waits for its new pods, and a
    // disruption budget that counts it unavailable, for good.
    return {true, R"({"ok": true, "standby": "no partitions assigned"})", "", false};
  }
  if (const uint64_t n = r.restoring_partitions.value()) {
    return answer("restoring: " + std::to_string(n) +
                      " partition(s) restoring their state from the changelog, " +
                      std::to_string(r.restore_remaining.value()) +
                      " record(s) left in the current one, " +
                      std::to_string(r.restore_records.value()) + " read so far",
                  true);
  }
  const auto wait = static_cast<int64_t>(r.delivery_wait_ms.value());
  if (wait > options_.readiness_commit_age_ms) {
    std::string who = (merged ? *merged : metrics_).waiting_sink();
    if (who.empty()) who = "a sink or the dead-letter queue";
    return answer(who + " has had outputs without a delivery report for " + std::to_string(wait) +
                  " ms (readiness_commit_age_ms " +
                  std::to_string(options_.readiness_commit_age_ms) + ")");
  }
  const uint64_t checked = r.commit_checked_ms.value();
  const int64_t age = wall_ms() - static_cast<int64_t>(checked);
  if (checked == 0 || age > options_.readiness_commit_age_ms) {
    return answer("no commit cycle for " +
                  (checked == 0 ? std::string("ever") : std::to_string(age) + " ms") +
                  " (readiness_commit_age_ms " + std::to_string(options_.readiness_commit_age_ms) +
                  ")");
  }
  return answer("");
}

}  // namespace streams::admin
