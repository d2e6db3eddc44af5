// `streams-host pause` and `resume`: the operator's pause of a running host
// through its admin endpoint (POST /pause, /resume), and for `pause` the
// wait until what was in flight is committed (GET /status); or of every
// host of a segment through the control topic, whose hosts report their
// partitions drained there.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/admin_client.h"
#include "cli/loading.h"
#include "cli/segment_source.h"
#include "common/clock.h"
#include "kafka/control_topic.h"
#include "kafka/group_offsets.h"

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

// Exactly one of --admin-port (a host) and --config (a segment).
bool one_target(const AdminArgs& admin, const SegmentArgs& segment) {
  if (admin.admin_port > 0 || !segment.config_path.empty()) {
    if (segment.config_path.empty() || !segment.pipeline_path.empty()) return true;
    print_problem(log::Level::error, "--config needs the pipeline file too (PIPELINE)");
    return false;
  }
  print_problem(log::Level::error,
                "name the host (--admin-port) or the segment (--config and PIPELINE)");
  return false;
}

// Who asks, for the hosts' logs: $USER@host.
std::string asker() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "?");
  const char* user = std::getenv("USER");
  return std::string(user && *user ? user : "an operator") + "@" + host;
}

// The segment's control-topic client and source; false, printed, when not.
std::unique_ptr<kafka::ControlReader> open_control(const SegmentArgs& args, SegmentSource* s,
                                                   kafka::Settings* settings) {
  if (!chosen_segment_source(args.pipeline_path, args.config_path, args.segment_id, s)) {
    return nullptr;
  }
  *settings = {{"bootstrap.servers", s->brokers}};
  settings->insert(settings->end(), s->settings.begin(), s->settings.end());
  if (!add_settings("-X", args.settings, settings)) return nullptr;
  std::string error;
  auto reader =
      kafka::ControlReader::open(*settings, s->control_topic, "streams-pause", false, &error);
  if (!reader) print_problem(log::Level::error, error);
  return reader;
}

// Writes the segment's pause record and says so, ending with `then`; its
// offset, or -1 (the problem printed).
int64_t write_pause(kafka::ControlReader& control, const SegmentSource& s, bool paused,
                    int timeout_ms, const char* then) {
  std::string error;
  const int64_t offset = control.write(
      kafka::pause_key(s.group), kafka::encode(kafka::PauseRecord{paused, asker(), wall_ms()}),
      timeout_ms, &error);
  if (offset < 0) {
    print_problem(log::Level::error, "group " + s.group + ": " + error);
  } else {
    std::printf("segment %zu %s: group %s on topic %s (%s offset %lld); %s\n", s.segment,
                paused ? "paused" : "resumed", s.group.c_str(), s.topic.c_str(),
                control.topic().c_str(), static_cast<long long>(offset), then);
  }
  return offset;
}

// The partitions of the segment's topic, or false (printed).
bool topic_partitions(const SegmentSource& s, const kafka::Settings& settings, int timeout_ms,
                      std::vector<int32_t>* out) {
  kafka::Settings consumer = settings;
  consumer.insert(consumer.end(), {{"client.id", "streams-pause"}, {"group.id", s.group}});
  std::string error;
  kafka::Client client =
      kafka::make_tool_client(RD_KAFKA_CONSUMER, consumer, nullptr, nullptr, &error);
  std::vector<kafka::PartitionPosition> positions;
  if (!client ||
      !kafka::read_positions(client.get(), s.topic, false, timeout_ms, &positions, &error)) {
    print_problem(log::Level::error, "topic " + s.topic + ": " + error);
    return false;
  }
  for (const auto& p : positions) out->push_back(p.partition);
  return true;
}

std::string numbers(const std::vector<int32_t>& list) {
  std::string out;
  for (int32_t n : list) out += (out.empty() ? "" : ", ") + std::to_string(n);
  return out;
}

// Waits until the hosts' reports of the pause at `offset` cover every
// partition of the segment's topic. The exit status.
int wait_segment_drained(kafka::ControlReader& control, const SegmentSource& s,
                         const std::vector<int32_t>& partitions, int64_t offset, int64_t deadline) {
  std::map<std::string, kafka::DrainedRecord> reports;  // by member: its latest
  bool resumed = false;
  std::vector<int32_t> left = partitions;
  int64_t from = offset + 1;
  while (!resumed && steady_ms() < deadline) {
    std::string error;
    const auto on = [&](const kafka::ControlRecord& r) {
      if (r.group != s.group) return;
      if (r.kind == kafka::ControlRecord::drained_record && r.drained.pause_offset == offset) {
        reports[r.member] = r.drained;
      } else if (r.kind == kafka::ControlRecord::pause_record && !r.pause.paused) {
        resumed = true;
      }
    };
    const int slice = static_cast<int>(std::min<int64_t>(kStatusPollMs, deadline - steady_ms()));
    if (!control.read(from, -1, std::max(1, slice), on, &error)) {
      print_problem(log::Level::error, error);
      return 2;
    }
    from = control.next();
    std::vector<kafka::DrainedRecord> all;
    for (const auto& [member, r] : reports) all.push_back(r);
    left = kafka::not_covered(partitions, all);
    if (left.empty() && !resumed) {
      std::printf(
          "drained: %zu partition(s), reported by %zu host(s); every input begun "
          "completed and committed\n",
          partitions.size(), reports.size());
      for (const auto& [member, r] : reports) {
        std::printf("  %s: %s\n", member.c_str(),
                    r.partitions.empty() ? "no partitions (a standby)"
                                         : ("partitions " + numbers(r.partitions)).c_str());
      }
      return 0;
    }
  }
  if (resumed) {
    print_problem(log::Level::error, "the segment is no longer paused (resumed meanwhile)");
  } else {
    print_problem(log::Level::error,
                  "paused, but not drained in time: no host reported partition(s) " +
                      numbers(left) + " drained (" + std::to_string(reports.size()) +
                      " host(s) reported; a host not running, or stopped by what is in flight, "
                      "reports nothing; streams-host status on a host shows more). The segment "
                      "stays paused");
  }
  return 1;
}

int pause_segment(const PauseArgs& args) {
  const int64_t deadline = steady_ms() + args.admin.timeout_ms;
  SegmentSource s;
  kafka::Settings settings;
  const auto control = open_control(args.segment, &s, &settings);
  if (!control) return 2;
  std::vector<int32_t> partitions;
  if (!args.no_wait && !topic_partitions(s, settings, args.admin.timeout_ms, &partitions)) return 2;
  const int64_t offset =
      write_pause(*control, s, true, args.admin.timeout_ms, "hosts started later start paused");
  if (offset < 0) return 2;
  if (args.no_wait) return 0;
  return wait_segment_drained(*control, s, partitions, offset, deadline);
}

int resume_segment(const ResumeArgs& args) {
  SegmentSource s;
  kafka::Settings settings;
  const auto control = open_control(args.segment, &s, &settings);
  if (!control) return 2;
  return write_pause(*control, s, false, args.admin.timeout_ms,
                     "each partition reads on from where it stopped") < 0
             ? 2
             : 0;
}

}  // namespace

int pause_command(const PauseArgs& args) {
  if (!one_target(args.admin, args.segment)) return 2;
  if (!args.segment.config_path.empty()) return pause_segment(args);
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
    const int budget = static_cast<int>(std::min<int64_t>(remaining, 5000));
    // A busy host may not answer within what is left of the wait: that is
    // the wait running out (what the last answer showed), not an error.
    const admin::Response r = client.request("GET", "/status", budget);
    if (r.status == 0 && steady_ms() >= deadline) break;
    const nlohmann::json status = client.answer("GET", "/status", r, &exit);
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

int resume_command(const ResumeArgs& resume) {
  if (!one_target(resume.admin, resume.segment)) return 2;
  if (!resume.segment.config_path.empty()) return resume_segment(resume);
  const AdminArgs& args = resume.admin;
  AdminClient client(args);
  if (!client.init()) return 2;
  int exit = 0;
  const nlohmann::json answer = client.ask("POST", "/resume", args.timeout_ms, &exit);
  if (answer.is_null()) return exit;
  std::printf("%s\n", answer.value("paused", true) ? "still paused" : "running");
  return answer.value("paused", true) ? 1 : 0;
}

}  // namespace streams::cli
