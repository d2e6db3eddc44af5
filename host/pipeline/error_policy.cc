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
    case kErrSinkRejected:
      return "sink_rejected";
  }
  return "error";
}

std::string origin_text(const streams_origin& origin) {
  return std::string(origin.topic) + "[" + std::to_string(origin.partition) + "]@" +
         std::to_string(origin.offset);
}

std::string describe(const RecordError& e) {
  std::string step = "step '" + e.step->name + "'";
  if (e.step->function) step += " (plugin " + e.step->plugin + " " + e.step->plugin_version + ")";
  return step + " " + error_kind_name(e.kind) + ": " + std::string(e.message);
}

bool NoDlqPolicy::on_record_error(const RecordError& e) {
  const std::string where = origin_text(*e.origin);
  const std::string what = describe(e);
  if (policy_ == config::ErrorPolicy::fail) {
    log::error("record error at " + where + ": " + what +
               "; error_policy is fail, so the pipeline stops here (set a dlq or "
               "error_policy: skip-and-count on the source to go on)");
    return false;
  }
  ++skipped_;
  uint64_t suppressed = 0;
  if (log_.allow(std::chrono::steady_clock::now(), &suppressed)) {
    log::warn("skipped " + where + ": " + what + log::RateLimitedLog::note(suppressed));
  }
  return true;
}

}  // namespace streams::pipeline
