// `streams-host offsets show|reset`: a pipeline's consumer groups on their
// topics, read and moved by a client that never joins them (so the broker
// refuses a move while a host of the group runs). Thread: the main thread.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/loading.h"
#include "cli/segment_source.h"
#include "common/clock.h"
#include "config/connection_settings.h"
#include "kafka/dlq_reader.h"
#include "kafka/group_offsets.h"
#include "pipeline/generation.h"
#include "pipeline/operator.h"
#include "pipeline/segments.h"
#include "sinks/registry.h"

namespace streams::cli {
namespace {

using kafka::PartitionPosition;
using Json = nlohmann::ordered_json;

// The tool's client settings; false when -X has a bad one.
bool client_settings(const SegmentSource& s, const OffsetsArgs& args, kafka::Settings* out) {
  *out = {{"bootstrap.servers", s.brokers},
          {"client.id", "streams-offsets"},
          {"group.id", s.group},
          {"enable.auto.commit", "false"},
          {"enable.partition.eof", "true"}};
  out->insert(out->end(), s.settings.begin(), s.settings.end());
  out->insert(out->end(), s.joining.begin(), s.joining.end());
  return add_settings("-X", args.settings, out);
}

// Commits `targets`: from outside the group, else (refused: members, or the
// dev broker) as its only member. The exit status.
int commit(const OffsetsArgs& args, const SegmentSource& s, rd_kafka_t* client,
           const std::map<int32_t, int64_t>& targets, size_t partition_count) {
  std::string error;
  const rd_kafka_resp_err_t err = kafka::commit_offsets(client, s.topic, targets, &error);
  if (!err) return 0;
  bool others = false;
  kafka::Settings settings;
  if (err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION) {
    error.clear();
    if (client_settings(s, args, &settings) &&
        kafka::commit_as_member(settings, s.topic, targets, partition_count, args.timeout_ms,
                                &others, &error)) {
      return 0;
    }
  }
  std::string what = "group " + s.group + " did not take the new offsets: " + error;
  if (others) {
    what +=
        " (the tool joined the group to find out, which rebalanced its members). The group "
        "has members: stop segment " +
        std::to_string(s.segment) + "'s hosts first";
  }
  print_problem(log::Level::error, what);
  return others ? 1 : 2;
}

// The partitions `args` name (all when none), or false naming one the topic lacks.
bool chosen(const OffsetsArgs& args, const SegmentSource& s, std::vector<PartitionPosition>* all) {
  if (args.partitions.empty()) return true;
  for (int p : args.partitions) {
    const auto has = [p](const PartitionPosition& x) { return x.partition == p; };
    if (std::none_of(all->begin(), all->end(), has)) {
      print_problem(log::Level::error, "topic " + s.topic + " has no partition " +
                                           std::to_string(p) + " (it has " +
                                           std::to_string(all->size()) + ")");
      return false;
    }
  }
  const auto unchosen = [&args](const PartitionPosition& x) {
    return std::find(args.partitions.begin(), args.partitions.end(), x.partition) ==
           args.partitions.end();
  };
  all->erase(std::remove_if(all->begin(), all->end(), unchosen), all->end());
  return true;
}

// Where a partition's group is: its committed offset, else where it starts.
int64_t position_of(const PartitionPosition& p, bool earliest) {
  if (p.committed == kafka::kNoOffset) return earliest ? p.low : p.high;
  return std::max(p.committed, p.low);
}

Json offset_json(int64_t offset) {
  return offset == kafka::kNoOffset ? Json(nullptr) : Json(offset);
}

std::string offset_text(int64_t offset) {
  return offset == kafka::kNoOffset ? "-" : std::to_string(offset);
}

Json header_json(const SegmentSource& s) {
  return {{"segment", s.segment}, {"topic", s.topic}, {"group", s.group}, {"brokers", s.brokers}};
}

void print_header(const SegmentSource& s, const std::string& what) {
  std::printf("segment %zu: group %s on topic %s (%s)%s\n", s.segment, s.group.c_str(),
              s.topic.c_str(), s.brokers.c_str(), what.c_str());
}

Json show_segment(const SegmentSource& s, const std::vector<PartitionPosition>& positions,
                  bool text) {
  Json parts = Json::array();
  int64_t lag = 0;
  if (text) {
    print_header(s, "");
    std::printf("  %9s %12s %12s %12s %12s\n", "partition", "committed", "start", "end", "lag");
  }
  for (const PartitionPosition& p : positions) {
    const int64_t behind = std::max<int64_t>(0, p.high - position_of(p, s.earliest));
    lag += behind;
    if (text) {
      std::printf("  %9d %12s %12lld %12lld %12lld\n", p.partition,
                  offset_text(p.committed).c_str(), static_cast<long long>(p.low),
                  static_cast<long long>(p.high), static_cast<long long>(behind));
    }
    parts.push_back({{"partition", p.partition},
                     {"committed", offset_json(p.committed)},
                     {"start", p.low},
                     {"end", p.high},
                     {"lag", behind}});
  }
  if (text) {
    std::printf("  lag %lld; a partition without a committed offset starts at its %s\n",
                static_cast<long long>(lag), s.earliest ? "first record" : "end");
  }
  Json out = header_json(s);
  out["partitions"] = std::move(parts);
  out["lag"] = lag;
  return out;
}

// The target of `args` in words and as a ResetTo, or false with an error.
bool target_of(const OffsetsArgs& args, kafka::ResetTo* to, std::string* words) {
  using kafka::ResetTo;
  int64_t ms = 0;
  if (args.to_earliest) {
    *to = {ResetTo::earliest, 0};
    *words = "to the first record";
  } else if (args.to_latest) {
    *to = {ResetTo::latest, 0};
    *words = "to the end";
  } else if (args.to_offset >= 0) {
    *to = {ResetTo::offset, args.to_offset};
    *words = "to offset " + std::to_string(args.to_offset);
  } else if (!args.to_datetime.empty()) {
    if (!parse_time(args.to_datetime, &ms)) {
      print_problem(log::Level::error,
                    "--to-datetime " + args.to_datetime +
                        ": expected ISO 8601 (2026-12-05T06:00:00Z, 2026-12-05 07:00+01:00) or "
                        "milliseconds since the epoch");
      return false;
    }
    *to = {ResetTo::time, ms};
    *words = "to the first record at or after " + iso_utc(ms);
  } else if (!args.by_duration.empty()) {
    if (!parse_duration(args.by_duration, &ms)) {
      print_problem(log::Level::error, "--by-duration " + args.by_duration +
                                           ": expected a whole number and a unit (ms, s, m, h, "
                                           "d), as 15m");
      return false;
    }
    *to = {ResetTo::time, wall_ms() - ms};
    *words =
        "to the first record at or after " + iso_utc(to->value) + " (" + args.by_duration + " ago)";
  } else {
    *to = {ResetTo::shift, args.shift_by};
    *words = "by " + std::to_string(args.shift_by) + " record(s)";
  }
  return true;
}

// Each partition's new offset into *targets, printed as text or returned
// as JSON; *back: one moves back.
Json plan(const SegmentSource& s, const std::vector<PartitionPosition>& positions,
          const kafka::ResetTo& to, const std::map<int32_t, int64_t>& found, bool text,
          std::map<int32_t, int64_t>* targets, bool* back) {
  Json parts = Json::array();
  if (text) std::printf("  %9s %12s %12s %12s\n", "partition", "committed", "new", "moves");
  for (const PartitionPosition& p : positions) {
    const auto f = found.find(p.partition);
    const int64_t target =
        kafka::reset_target(p, to, f == found.end() ? p.high : f->second, s.earliest);
    const int64_t moves = target - position_of(p, s.earliest);
    *back = *back || moves < 0;
    (*targets)[p.partition] = target;
    if (text) {
      std::printf("  %9d %12s %12lld %+12lld\n", p.partition, offset_text(p.committed).c_str(),
                  static_cast<long long>(target), static_cast<long long>(moves));
    }
    parts.push_back({{"partition", p.partition},
                     {"committed", offset_json(p.committed)},
                     {"new", target},
                     {"moves", moves}});
  }
  return parts;
}

// False (refused) when the move takes a stateful segment back without
// --force; else true, with a warning for such a move.
bool state_allows(const OffsetsArgs& args, const SegmentSource& s, bool back) {
  if (!back || s.stateful.empty()) return true;
  std::string steps;
  for (const auto& name : s.stateful) steps += (steps.empty() ? "" : ", ") + name;
  const std::string why = "segment " + std::to_string(s.segment) + " keeps state (" + steps +
                          "): the inputs read again were applied to it already and are "
                          "applied again (a count counts them twice)";
  const bool refused = args.execute && !args.force;
  print_problem(refused ? log::Level::error : log::Level::warn,
                refused ? why + "; --force moves it anyway" : why);
  return !refused;
}

// Moves (or plans to move) `s`'s group. The exit status.
int reset_segment(const OffsetsArgs& args, const SegmentSource& s, rd_kafka_t* client,
                  const std::vector<PartitionPosition>& positions, size_t partition_count) {
  const bool text = args.format == "text";
  kafka::ResetTo to;
  std::string words, error;
  if (!target_of(args, &to, &words)) return 2;
  std::map<int32_t, int64_t> found, targets;
  int read_through = 0;
  if (to.kind == kafka::ResetTo::time &&
      !kafka::offsets_for_time(client, s.topic, positions, to.value, args.timeout_ms, &found,
                               &read_through, &error)) {
    print_problem(log::Level::error, error);
    return 2;
  }
  if (read_through > 0) {
    print_problem(log::Level::warn,
                  "the brokers found no offset by time for " + std::to_string(read_through) +
                      " partition(s) that have later records (a broker without a time index, "
                      "such as the dev broker): found by reading them from their start");
  }
  if (text) print_header(s, ": " + words + (args.execute ? "" : " (dry run)"));
  bool back = false;
  Json out = header_json(s);
  out["partitions"] = plan(s, positions, to, found, text, &targets, &back);
  int status = 0;
  if (!state_allows(args, s, back)) {
    status = 1;
  } else if (!args.execute) {
    if (text) std::printf("dry run: nothing committed; --execute commits these offsets\n");
  } else if (!(status = commit(args, s, client, targets, partition_count)) && text) {
    std::printf("committed %zu partition(s) of %s for group %s\n", targets.size(), s.topic.c_str(),
                s.group.c_str());
  }
  out["executed"] = args.execute && status == 0;
  if (!text) std::printf("%s\n", out.dump().c_str());
  return status;
}

}  // namespace

int offsets_command(const OffsetsArgs& args) {
  config::Diagnostics diag;
  config::DeploymentConfig deployment;
  config::PipelineSpec pipeline;
  plugin::PluginRegistry registry("");
  const bool ok = config::load_deployment_config(args.config_path, &deployment, diag) &&
                  load_pipeline(args.pipeline_path, deployment, registry, &pipeline, diag);
  report(diag);
  if (!ok) return 2;
  const size_t count = deployment.segments.size();
  if (args.segment_id >= 0 && static_cast<size_t>(args.segment_id) >= count) {
    print_problem(log::Level::error, args.config_path + ": no segment " +
                                         std::to_string(args.segment_id) + " (it has " +
                                         std::to_string(count) + ")");
    return 2;
  }
  if (args.reset && args.segment_id < 0 && count > 1) {
    print_problem(log::Level::error, args.config_path + " has " + std::to_string(count) +
                                         " segments: choose the one to move with --segment-id");
    return 2;
  }
  const size_t first = args.segment_id < 0 ? 0 : static_cast<size_t>(args.segment_id);
  const size_t last = args.segment_id < 0 ? count : first + 1;
  Json shown = Json::array();
  for (size_t n = first; n < last; ++n) {
    SegmentSource s;
    if (!segment_source(pipeline, deployment, n, &s, diag)) {
      report(diag);
      return 2;
    }
    std::string error;
    kafka::Settings settings;
    if (!client_settings(s, args, &settings)) return 2;
    kafka::Client client =
        kafka::make_tool_client(RD_KAFKA_CONSUMER, settings, nullptr, nullptr, &error);
    std::vector<PartitionPosition> positions;
    if (!client ||
        !kafka::read_positions(client.get(), s.topic, true, args.timeout_ms, &positions, &error)) {
      if (!error.empty()) {
        print_problem(log::Level::error, "group " + s.group + " on " + s.brokers + ": " + error);
      }
      return 2;
    }
    const size_t partition_count = positions.size();
    if (!chosen(args, s, &positions)) return 2;
    if (args.reset) {
      return reset_segment(args, s, client.get(), positions, partition_count);
    }
    shown.push_back(show_segment(s, positions, args.format == "text"));
  }
  if (args.format == "json") std::printf("%s\n", Json{{"segments", shown}}.dump().c_str());
  return 0;
}

}  // namespace streams::cli
