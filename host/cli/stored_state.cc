// `streams-host state get|scan --config D --pipeline P`: a stateful step's
// state read from its store on disk, with no host running (one crashing at
// start, one stopped) or beside a running one. It is what the store's last
// checkpoint holds: the changes of the inputs before that offset. A host
// that ran since may have later changes in its changelog (it checkpoints
// its store every few seconds), which its next start restores.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "cli/loading.h"
#include "cli/segment_source.h"
#include "pipeline/state_query.h"
#include "state/store.h"
#include "state/table.h"

namespace streams::cli {
namespace {

// "a, b" or "none".
std::string listed(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

// The partitions with a store in `dir`, for an error naming a missing one.
std::string stored_partitions(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.compare(0, 10, "partition-") == 0 && name.find('.') == std::string::npos) {
      found.push_back(name.substr(10));
    }
  }
  std::sort(found.begin(), found.end());
  return listed(found);
}

}  // namespace

int stored_state_command(const StateArgs& args, const pipeline::StateQuery& q) {
  SegmentSource s;
  if (!chosen_segment_source(args.pipeline, args.config, args.segment_id, &s)) return 2;
  const auto spec = s.state.find(q.step);
  if (spec == s.state.end()) {
    print_problem(log::Level::error, "step '" + q.step + "' keeps no state in segment " +
                                         std::to_string(s.segment) +
                                         " (its steps with state: " + listed(s.stateful) + ")");
    return 2;
  }
  if (s.state_backend == "memory") {
    print_problem(log::Level::error, args.config +
                                         ": state_backend memory keeps no store on disk; read a "
                                         "running host's state with --admin-port");
    return 2;
  }
  const std::string dir = stores_dir(args.state_dir, s.state_dir, s.pipeline);
  const std::string path = dir + "/partition-" + std::to_string(q.partition);
  std::error_code ec;
  if (!std::filesystem::exists(path + "/CURRENT", ec)) {
    print_problem(log::Level::error, "no store of partition " + std::to_string(q.partition) +
                                         " in " + dir + " (partitions stored there: " +
                                         stored_partitions(dir) + "; see --state-dir)");
    return 2;
  }
  std::string error;
  std::unique_ptr<state::Store> store = state::open_rocksdb_to_read(dir, q.partition, &error);
  if (!store) {
    print_problem(log::Level::error, error);
    return 2;
  }
  const state::Checkpoint at = store->checkpoint();
  nlohmann::json head{{"step", q.step},
                      {"partition", q.partition},
                      {"store", path},
                      {"checkpoint_offset", at.offset}};
  uint32_t family = 0;
  pipeline::StateAnswer answer;
  if (!store->family(q.step, &family, &error)) {
    // The step never kept state on this partition: nothing is stored.
    head[q.scan ? "prefix" : "key"] = q.key;
    if (q.scan) {
      head["entries"] = nlohmann::json::array();
      head["more"] = false;
    }
    answer = {q.scan ? 200u : 404u, head.dump()};
  } else {
    state::Settings settings;
    settings.ttl_ms = spec->second.ttl_ms;
    const int64_t clock = at.event_time_ms;  // ttl_ms counts from the checkpoint's event time
    const int64_t input = at.offset;
    state::Table table(*store, family, q.step, settings, clock, input);
    answer = pipeline::read_state(table, q, std::move(head));
  }
  if (answer.status != 200 && answer.status != 404) {
    print_problem(log::Level::error,
                  nlohmann::json::parse(answer.body).value("error", answer.body));
    return 2;
  }
  std::printf("%s\n", answer.body.c_str());
  return answer.status == 200 ? 0 : 1;
}

}  // namespace streams::cli
