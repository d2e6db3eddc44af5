// batch: collects records into one batch record (pipeline/batcher.h),
// emitted at max_count records, after max_wait_ms, and at end of input. An
// open batch holds the input it started with, so nothing in it is committed;
// with `state:` it is kept in the step's state Table instead.
#pragma once

#include <cstdint>

#include "pipeline/operator.h"

namespace streams::pipeline::operators {

// Emit when `max_count` records are held or the oldest has waited
// `max_wait_ms` (0 = no such limit; at least one is set).
struct BatchSettings final : config::StepSettings {
  config::Codec format = config::Codec::json;
  int64_t max_count = 0;
  int64_t max_wait_ms = 0;
};

const Operator& batch();

}  // namespace streams::pipeline::operators
