// `streams-host dlq show` (control plane): what is in a dead-letter topic,
// a record a line (where it came from, the step and kind of its failure,
// the error, its value's start) or a JSON object a line, then a count by
// step and kind. Reads only; commits nothing.
//
// Thread: the caller's; blocking.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kafka/dlq_reader.h"

namespace streams::kafka {

struct ShowOptions {
  DlqSource source;                // with a group: only what the group has not replayed
  std::vector<std::string> kinds;  // empty: every kind
  std::vector<std::string> steps;  // empty: every step
  uint64_t limit = 0;              // records shown at most (0: all); all are counted
  bool json = false;
};

// One dead-letter record as a line of text, and as JSON (its error
// headers without their prefix, its key, value and own headers).
std::string describe_dead_letter(const std::string& dlq_topic, const rd_kafka_message_t& msg,
                                 const HeaderList& headers);
nlohmann::json dead_letter_json(const rd_kafka_message_t& msg, const HeaderList& headers);

// Exit status: 0 read to the end, 1 failed, 2 bad options or no topic.
int show_dead_letters(const ShowOptions& options, const std::atomic<bool>& stop);

}  // namespace streams::kafka
