// A read of a stateful step's state from outside the processing thread (the
// admin endpoint's GET /state/...): posted to the runtime, served by the
// processing thread between two inputs, so it sees every change made so
// far, committed or not. `streams-host state --config` answers one from a
// store on disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace streams::state {
class Table;
}

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

// Answers `q` from `table`: 200 with `head` (an object) and the key's value
// or the prefix's entries, 404 for a key it does not hold (live: a ttl_ms
// counts from the table's event clock), 500 when the store fails. Thread:
// the table's.
StateAnswer read_state(state::Table& table, const StateQuery& q, nlohmann::json head);

}  // namespace streams::pipeline
