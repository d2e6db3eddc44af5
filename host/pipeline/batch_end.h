// Work plugins ask to have done when a processing thread's batch of inputs
// ends (streams_host_api.defer_to_batch_end): the Python bridge keeps the
// GIL across the calls of a batch and lets it go here.
//
// Thread: everything here acts on the calling thread's own list; nothing is
// shared between threads.
#pragma once

#include <cstdint>

namespace streams::pipeline {

// Arms the calling thread for its lifetime: from now on it takes requests,
// and promises to call end_batch() after each batch of inputs, before it
// waits for input or does anything else that may wait for another thread
// (rebalances, swaps, queries, stops). The destructor ends the batch and
// disarms. One per thread at a time (the runtime's loop).
class BatchScope {
 public:
  BatchScope();
  ~BatchScope();
  BatchScope(const BatchScope&) = delete;
  BatchScope& operator=(const BatchScope&) = delete;
};

// Runs, in the order asked, what was deferred to this thread's batch end,
// and forgets it. Cheap when nothing was.
void end_batch();

// host_api.defer_to_batch_end: STREAMS_OK, or STREAMS_RECORD_ERROR when the
// thread is not armed or has too many requests pending.
int32_t defer_to_batch_end(void (*fn)(void*), void* arg);

}  // namespace streams::pipeline
