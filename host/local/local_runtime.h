// The local runtime: runs a pipeline over newline-delimited input (a file or
// stdin) with no broker. Each line is one record: its value (no key, no
// headers, no timestamp), or with json_envelopes a JSON object
// {"value": TEXT|null, "key": TEXT|null, "timestamp_ms": N,
//  "headers": {NAME: TEXT}}, every member optional; a line that is not such
// an object is a record error. Its origin is the input's name, partition 0,
// and the line number (from 0) as the offset. At the end of the input every
// open batch and window emits. Kafka sinks write lines to a file given per
// sink, else to stdout; file and devnull sinks work as configured. Record
// errors follow `error_policy`.
//
// Thread: run_local() on the calling thread, to the end of the input.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "pipeline/generation.h"

namespace streams::local {

struct LocalOptions {
  std::string input = "-";      // a path, or "-" for stdin
  bool json_envelopes = false;  // lines are JSON envelopes
  config::ErrorPolicy error_policy = config::ErrorPolicy::fail;
  std::map<std::string, std::string> outputs;  // Kafka sink name -> path ("-": stdout)
};

// Returns the exit status: 0 when the whole input was processed, 1 when the
// pipeline stopped (fatal status, sink failure), 2 on bad options.
int run_local(std::shared_ptr<const pipeline::Generation> g, const LocalOptions& options,
              const std::atomic<bool>& stop);

}  // namespace streams::local
