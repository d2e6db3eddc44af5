// What running a record through a step (and on) came to, inside the host.
// The ABI's integer codes (STREAMS_*) are read where a plugin returns one
// (Chain::finish_plugin) and written where a plugin gets one back (to_abi).
#pragma once

#include <cstdint>

#include <streams/plugin_abi.h>

namespace streams::pipeline {

enum class Status : int32_t {
  ok = STREAMS_OK,
  reported = STREAMS_RECORD_ERROR,  // a record error, already reported
  fatal = STREAMS_FATAL,            // the pipeline stops
};

constexpr int32_t to_abi(Status status) { return static_cast<int32_t>(status); }

// A failure already reported: `reported` unless the pipeline stops.
constexpr Status reported(Status status) {
  return status == Status::fatal ? status : Status::reported;
}

}  // namespace streams::pipeline
