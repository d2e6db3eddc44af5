// The `devnull` sink (data plane): takes every output and keeps nothing,
// for benchmarks and dry runs. Plain, an output counts as stored once
// taken. With the original DevNullSink's sleep times it simulates a store
// of that latency (simulated_writes.h): outputs are acknowledged when their
// batch's simulated write ends, so backpressure, drains and commit lag show
// as they would with a real one.
#pragma once

#include <memory>

#include "config/sink_type.h"
#include "sinks/devnull/simulated_writes.h"

namespace streams::pipeline {
class OutputSink;
class SinkListener;
}  // namespace streams::pipeline

namespace streams::sinks {

// `type: devnull`: batch_size, batch_time_ms, average_sleep_time_ms,
// max_sleep_time_ms (all optional; a steps_config entry may set them too).
const config::SinkType& devnull_sink_type();

// A devnull sink simulating `writes`, acknowledging to `listener` (which
// outlives it; null: nobody is told).
std::unique_ptr<pipeline::OutputSink> make_devnull_sink(const DevNullWrites& writes,
                                                        pipeline::SinkListener* listener);

}  // namespace streams::sinks
