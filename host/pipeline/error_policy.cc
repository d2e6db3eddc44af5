#include "pipeline/error_policy.h"

#include <chrono>
#include <string>

namespace streams::pipeline {

const char* error_kind_name(int32_t kind) {
  switch (kind) {
    case STREAMS_ERR_INVALID_INPUT:
      return "invalid_input";
    case STREAMS_ERR_PROCESSING:
      return "processing";
    case STREAMS_ERR_EXCEPTION:
      return "exception";
    case STREAMS_ERR_CONTRACT:
      return "contract";
  }
  return "error";
}

bool SkipAndLog::on_record_error(const RecordError& e) {
  ++skipped_;
  uint64_t suppressed = 0;
  if (log_.allow(std::chrono::steady_clock::now(), &suppressed)) {
    std::string step = "step '" + e.step->name + "'";
    if (e.step->function) step += " (plugin " + e.step->plugin + " " + e.step->plugin_version + ")";
    log::warn("skipped " + std::string(e.origin->topic) + "[" +
              std::to_string(e.origin->partition) + "]@" + std::to_string(e.origin->offset) + ": " +
              step + " " + error_kind_name(e.kind) + ": " + std::string(e.message) +
              log::RateLimitedLog::note(suppressed));
  }
  return true;
}

}  // namespace streams::pipeline
