// reduce: an aggregate plugin function over count or event-time windows
// (pipeline/windows.h), per group key from an optional group_by map
// function. Open windows hold the inputs their panes started with, or, when
// the step declares `state:`, are kept in its state Table instead.
#pragma once

#include <cstdint>

#include "pipeline/operator.h"

namespace streams::pipeline::operators {

// A reduce step's window. Count windows measure `size` and `slide` in
// records, time windows in milliseconds of event time. A tumbling window has
// slide == size; a sliding one a slide that divides its size.
struct WindowSpec {
  bool by_time = false;
  int64_t size = 0;
  int64_t slide = 0;
  bool sliding() const { return slide != size; }
};

// Time windows close when the partition's event-time watermark (highest
// timestamp seen minus allowed_lateness_ms) passes their end, or when the
// partition has had no input for idle_flush_ms (0 = never).
struct ReduceSettings final : config::StepSettings {
  WindowSpec window;
  int64_t allowed_lateness_ms = 0;
  int64_t idle_flush_ms = 0;
};

const Operator& reduce();

}  // namespace streams::pipeline::operators
