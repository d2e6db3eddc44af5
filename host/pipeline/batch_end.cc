#include "pipeline/batch_end.h"

#include <streams/plugin_abi.h>

#include <cstddef>

namespace streams::pipeline {
namespace {

// A few plugins per pipeline each keep at most one request per batch.
constexpr size_t kMaxPending = 16;

struct Pending {
  bool armed = false;
  size_t count = 0;
  struct {
    void (*fn)(void*);
    void* arg;
  } calls[kMaxPending];
};
thread_local Pending this_thread;

}  // namespace

BatchScope::BatchScope() { this_thread.armed = true; }

BatchScope::~BatchScope() {
  end_batch();
  this_thread.armed = false;
}

void end_batch() {
  Pending& p = this_thread;
  for (size_t i = 0; i < p.count; ++i) p.calls[i].fn(p.calls[i].arg);  // they do not defer
  p.count = 0;
}

int32_t defer_to_batch_end(void (*fn)(void*), void* arg) {
  Pending& p = this_thread;
  if (!p.armed || !fn || p.count == kMaxPending) return STREAMS_RECORD_ERROR;
  p.calls[p.count++] = {fn, arg};
  return STREAMS_OK;
}

}  // namespace streams::pipeline
