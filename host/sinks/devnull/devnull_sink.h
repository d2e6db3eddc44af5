// The `devnull` sink (data plane): takes every output and keeps nothing,
// for benchmarks and dry runs. It reports no acknowledgements: an output
// counts as stored once taken.
#pragma once

#include "config/sink_type.h"

namespace streams::sinks {

// `type: devnull`: no keys of its own.
const config::SinkType& devnull_sink_type();

}  // namespace streams::sinks
