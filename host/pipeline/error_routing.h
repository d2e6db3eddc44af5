// Where a runtime's record errors go (data plane): to the dead-letter queue
// when the source has one, else to its error policy, within its
// error_limits; and what happens to an output a store refused after the
// chain ran (a record error of its sink step, or, refused by the DLQ
// itself, sent again as its error headers alone).
//
// Lifetime: the DLQ sink outlives it.
// Thread: the processing thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "metrics/metrics.h"
#include "pipeline/dead_letters.h"
#include "pipeline/error_limits.h"
#include "pipeline/error_policy.h"
#include "pipeline/generation.h"

namespace streams::pipeline {

class ErrorRouting {
 public:
  // `dlq` null: no DLQ, `policy` applies.
  ErrorRouting(const Generation& g, OutputSink* dlq, config::ErrorPolicy policy);

  // The handler given to Chains.
  LimitedErrors& errors() { return *errors_; }

  // An output of sink `sink_index` (-1: the DLQ) tagged `token`, from the
  // input at `origin` (null: its partition is gone), was refused for good.
  // True when handled (the caller releases the token's hold); false with
  // *why when the pipeline must stop.
  bool on_refused(const Generation& g, int sink_index, const streams_origin* origin, uint64_t token,
                  const streams_record& output, const char* reason,
                  metrics::PipelineMetrics& metrics, std::string* why);

  uint64_t skipped() const { return no_dlq_ ? no_dlq_->skipped() : 0; }
  // ", sent to the dead-letter queue N" or ", skipped N", for the last log line.
  std::string summary() const;

 private:
  std::unique_ptr<NoDlqPolicy> no_dlq_;        // without a DLQ
  std::unique_ptr<DeadLetters> dead_letters_;  // with one
  std::unique_ptr<LimitedErrors> errors_;      // wraps the one in use
};

}  // namespace streams::pipeline
