// The error policy for records a step failed on when there is no dead-letter
// queue (data plane): `fail` logs the error and stops the pipeline at the
// record, which stays uncommitted; `skip-and-count` logs (rate-limited),
// counts and goes on.
//
// Thread: the processing thread that runs the chains.
#pragma once

#include <cstdint>
#include <string>

#include "common/log.h"
#include "config/deployment_config.h"
#include "pipeline/chain.h"

namespace streams::pipeline {

// invalid_input, processing, exception, contract, sink_rejected, crash.
const char* error_kind_name(int32_t kind);
// "topic[partition]@offset".
std::string origin_text(const streams_origin& origin);
// "step 'S' (plugin P V) KIND: message", for log lines.
std::string describe(const RecordError& e);
// Logs `message` about the failed record with its step, error kind, topic,
// partition and offset as fields.
void log_record_error(log::Level level, const std::string& message, const RecordError& e);

// Hands the record error to the error-tracking service, if one is set
// (common/error_report.h): the same issue is the same step, kind and
// exception type; the first record's partition and offset say where to look.
// Allocates nothing when none is set.
void report_record_error(const RecordError& e);

class NoDlqPolicy final : public ErrorHandler {
 public:
  explicit NoDlqPolicy(config::ErrorPolicy policy) : policy_(policy) {}
  bool on_record_error(const RecordError& e) override;
  uint64_t skipped() const { return skipped_; }

 private:
  config::ErrorPolicy policy_;
  uint64_t skipped_ = 0;
  log::RateLimitedLog log_{10};
};

}  // namespace streams::pipeline
