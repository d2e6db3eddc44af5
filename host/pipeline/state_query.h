// A read of a stateful step's state from outside the processing thread (the
// admin endpoint's GET /state/...): posted to the runtime, served by the
// processing thread between two inputs, so it sees every change made so
// far, committed or not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace streams::pipeline {

struct StateQuery {
  std::string step;
  int32_t partition = 0;
  bool scan = false;
  std::string key;     // get: the key; scan: the prefix
  size_t limit = 100;  // scan: at most this many entries
};

// An HTTP status and a JSON body.
struct StateAnswer {
  unsigned status = 200;
  std::string body;
  // 404 because the partition is not assigned to this processing thread
  // (another thread of the host may have it).
  bool elsewhere = false;
};

// Called once with the answer, on the processing thread (or the caller's,
// when the query cannot be posted).
using StateReply = std::function<void(StateAnswer)>;

}  // namespace streams::pipeline
