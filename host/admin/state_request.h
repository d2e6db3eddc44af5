// The admin endpoint's state reads: GET /state/STEP/PARTITION/KEY (one key)
// and GET /state/STEP/PARTITION?prefix=P&limit=N (a scan, keys in byte
// order; limit 100 by default, at most 10000). STEP, KEY and P are
// percent-encoded.
#pragma once

#include <string>

#include "pipeline/state_query.h"

namespace streams::admin {

// True for a target under /state.
bool is_state_target(const std::string& target);
// The query a target asks for; false with *error (for a 400) when it is
// not one.
bool parse_state_target(const std::string& target, pipeline::StateQuery* q, std::string* error);
// The target of a query, encoded (for `streams-host state`).
std::string state_target(const pipeline::StateQuery& q);

}  // namespace streams::admin
