// `streams-host dlq replay` (control plane): re-sends dead-letter records to
// the topic they were read from (or another), without their error headers,
// optionally only those of some error kinds or steps.
//
// Without a group, every run reads the whole DLQ topic. With one, progress is
// stored as the group's committed offsets on the DLQ topic (no membership is
// taken), so a second run reads only what arrived since; records a filter
// skipped count as read. Offsets are committed only after every replayed
// record was delivered: a failed run replays again, never loses.
//
// Thread: the caller's; blocking.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka/dlq_reader.h"

namespace streams::kafka {

struct ReplayOptions {
  std::string brokers;         // the DLQ's bootstrap servers, comma-separated
  std::string target_brokers;  // where records are replayed to
  std::string dlq_topic;
  std::string group;               // empty: no progress kept
  std::string to_topic;            // empty: each record's original topic
  std::vector<std::string> kinds;  // empty: every kind
  std::vector<std::string> steps;  // empty: every step
  bool include_derived = false;    // batch/window outputs are not inputs
  // Outputs a sink's broker refused are replayed only with a `to_topic`.
  int timeout_ms = 30000;  // for metadata, reads and deliveries
  // librdkafka settings after the tool's own, for the DLQ's consumer and
  // the producer that replays (connection settings from a deployment, -X).
  std::vector<std::pair<std::string, std::string>> dlq_settings;
  std::vector<std::pair<std::string, std::string>> target_settings;
};

// What to do with one DLQ record, from its headers.
struct ReplayPlan {
  bool replay = false;
  std::string topic;    // where to
  std::string skipped;  // why not, when !replay
};

ReplayPlan plan_replay(const HeaderList& headers, const ReplayOptions& options);
// `headers` without the error headers (streams.error.*).
HeaderList strip_error_headers(const HeaderList& headers);

// Prints a summary to stdout. Returns the exit status: 0 done, 1 failed
// (nothing committed), 2 bad options.
int replay_dead_letters(const ReplayOptions& options, const std::atomic<bool>& stop);

}  // namespace streams::kafka
