// The partitions table of `streams-host top`, from GET /status's
// "partitions". With more partitions than rows it lists those that need a
// look first: not running (restoring, paused, drained), then the most lag.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace streams::cli {

// The table's text ("" with no partition assigned), ending in "... N more"
// when some are left out.
std::string partitions_table(const nlohmann::json& status);

}  // namespace streams::cli
