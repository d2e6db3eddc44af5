// The error policy for records a step failed on, until the dead-letter queue
// exists: log (rate-limited) and skip, counting them (data plane).
//
// Thread: the processing thread that runs the chains.
#pragma once

#include <cstdint>

#include "common/log.h"
#include "pipeline/chain.h"

namespace streams::pipeline {

const char* error_kind_name(int32_t kind);

class SkipAndLog final : public ErrorHandler {
 public:
  bool on_record_error(const RecordError& e) override;
  uint64_t skipped() const { return skipped_; }

 private:
  uint64_t skipped_ = 0;
  log::RateLimitedLog log_{10};
};

}  // namespace streams::pipeline
