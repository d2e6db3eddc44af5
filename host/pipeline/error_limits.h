// Error limits (data plane): wraps the error handler of a pipeline that goes
// on past failed records (DLQ, skip-and-count) and tells the runtime to stop
// once failures pass `error_limits`, so a broken deployment stops with a
// clear reason instead of flooding the DLQ.
//
// An input counts as failed when any error was reported since the previous
// input ended (errors from time-driven flushes and deliveries count toward
// the next input).
//
// Thread: the processing thread that runs the chains.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/deployment_config.h"
#include "pipeline/chain.h"
#include "pipeline/error_policy.h"

namespace streams::pipeline {

class LimitedErrors final : public ErrorHandler {
 public:
  // `inner` must outlive this.
  LimitedErrors(ErrorHandler& inner, const config::ErrorLimits& limits);

  // Every record error is also handed to the error-tracking service.
  bool on_record_error(const RecordError& e) override {
    ++reported_;
    report_record_error(e);
    return inner_.on_record_error(e);
  }
  // Ends one input. False with *why once a limit is passed.
  bool end_input(std::string* why);

 private:
  ErrorHandler& inner_;
  config::ErrorLimits limits_;
  uint64_t reported_ = 0;        // errors since the last end_input
  uint32_t consecutive_ = 0;     // failed inputs in a row
  std::vector<uint8_t> window_;  // the last ratio_window inputs: 1 = failed
  size_t next_ = 0;
  uint64_t seen_ = 0;
  uint32_t failed_in_window_ = 0;
};

}  // namespace streams::pipeline
