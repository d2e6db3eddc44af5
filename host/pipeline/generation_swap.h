// The hand-over of a new generation from the control plane (the reload
// controller) to the data plane (a runtime), which switches every partition
// to it between two inputs.
#pragma once

#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/generation.h"

namespace streams::pipeline {

struct SwapOutcome {
  bool ok = false;
  std::string error;  // why the runtime refused; the old generation runs on
  // Each partition's switch point: the first offset the new generation
  // processes (-1: none read yet).
  std::vector<std::pair<int32_t, int64_t>> switch_points;
  int64_t took_effect_ms = 0;  // wall clock, ms since the epoch
  // How long the processing thread spent switching (no input processed).
  int64_t switch_us = 0;
};

class GenerationSwapper {
 public:
  virtual ~GenerationSwapper() = default;
  // Thread-safe. Asks the processing thread to switch to `next`, which
  // differs from the running generation only in what a reload may change
  // (diff_generations(...).needs_restart is empty). The future is ready when
  // every partition has switched, or with the reason nothing did.
  virtual std::future<SwapOutcome> swap(std::shared_ptr<const Generation> next) = 0;
  // Thread-safe. Switches to `next`, whose source or sinks changed: the
  // running consumer drains, commits and leaves its group, and a new one
  // starts with `next` (a rebalance). The future is ready once it runs, or
  // with the reason the old generation runs on. Switch points are unknown
  // (the new consumer resumes from the committed offsets).
  virtual std::future<SwapOutcome> restart(std::shared_ptr<const Generation> next) = 0;
  // Thread-safe. Gives up the swap or restart whose future is not ready yet
  // (the caller stopped waiting): its future gets the refusal `why`, and the
  // running generation runs on. False when it can no longer be given up
  // (partitions are switching); its future is then ready soon.
  virtual bool cancel(const std::string& why) = 0;
};

}  // namespace streams::pipeline
