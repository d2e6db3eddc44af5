#include "pipeline/error_policy.h"

#include <charconv>
#include <chrono>
#include <string>
#include <string_view>

#include "common/error_report.h"

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
    case kErrCrash:
      return "crash";
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
  std::string text = step + " " + error_kind_name(e.kind) + ": " + std::string(e.message);
  for (size_t i = 0; i < e.detail_count; ++i) {
    const std::string& name = e.details[i].name;
    text += "\n  " + name.substr(name.rfind('.') + 1) + ": " + e.details[i].value;
  }
  return text;
}

void log_record_error(log::Level level, const std::string& message, const RecordError& e) {
  const std::string partition = std::to_string(e.origin->partition);
  const std::string offset = std::to_string(e.origin->offset);
  log::write(level, message,
             {{"step", e.step->name},
              {"error", error_kind_name(e.kind)},
              {"topic", e.origin->topic},
              {"partition", partition},
              {"offset", offset}});
}

void report_record_error(const RecordError& e) {
  std::string_view exception_type, traceback;
  for (size_t i = 0; i < e.detail_count; ++i) {
    const std::string_view name = e.details[i].name;
    const std::string_view tail = name.substr(name.rfind('.') + 1);
    if (tail == "exception_type") exception_type = e.details[i].value;
    if (tail == "traceback") traceback = e.details[i].value;
  }
  const char* kind = error_kind_name(e.kind);
  const std::string_view plugin = e.step->function ? std::string_view(e.step->plugin) : "";
  char partition[16], offset[24];  // where the record is: text without allocating
  const auto p_end = std::to_chars(partition, partition + sizeof partition, e.origin->partition);
  const auto o_end = std::to_chars(offset, offset + sizeof offset, e.origin->offset);
  report::capture(report::Event{report::Level::error,
                                e.message,
                                exception_type,
                                traceback,
                                {{"step", e.step->name},
                                 {"plugin", plugin},
                                 {"error", kind},
                                 {"topic", e.origin->topic},
                                 {"partition", std::string_view(partition, p_end.ptr - partition)},
                                 {"offset", std::string_view(offset, o_end.ptr - offset)}},
                                {e.step->name, kind, exception_type}});
}

bool NoDlqPolicy::on_record_error(const RecordError& e) {
  if (policy_ == config::ErrorPolicy::fail) {
    log_record_error(log::Level::error,
                     "record error at " + origin_text(*e.origin) + ": " + describe(e) +
                         "; error_policy is fail, so the pipeline stops here (set a dlq or "
                         "error_policy: skip-and-count on the source to go on)",
                     e);
    return false;
  }
  ++skipped_;
  uint64_t suppressed = 0;
  if (log_.allow(std::chrono::steady_clock::now(), &suppressed)) {
    log_record_error(log::Level::warn,
                     "skipped " + origin_text(*e.origin) + ": " + describe(e) +
                         log::RateLimitedLog::note(suppressed),
                     e);
  }
  return true;
}

}  // namespace streams::pipeline
