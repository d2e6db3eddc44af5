// Inputs held back from commit by an open batch or window (data plane).
#pragma once

#include <cstdint>

#include <streams/plugin_abi.h>

namespace streams::pipeline {

// The input an open batch or window pane started with: its delivery token
// (see Chain::process) and where it came from, for error reports.
struct HeldInput {
  uint64_t token = 0;
  streams_origin origin{};
};

// Keeps inputs uncommitted while a batch or window holds them. An output is
// derived from a held input; the holder releases it once the output has been
// written to its sinks (which hold it until delivered).
// Thread: the partition's processing thread.
class InputHolds {
 public:
  virtual ~InputHolds() = default;
  virtual void hold(uint64_t token) = 0;
  virtual void release(uint64_t token) = 0;
};

}  // namespace streams::pipeline
