// batch: collects records into one batch record (pipeline/batcher.h),
// emitted at max_count records, after max_wait_ms, and at end of input. An
// open batch holds the input it started with, so nothing in it is committed.
#pragma once

#include "pipeline/operator.h"

namespace streams::pipeline::operators {

const Operator& batch();

}  // namespace streams::pipeline::operators
