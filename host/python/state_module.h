// `streams.state` for Python transforms: the platform state of the step whose
// function is running (ABI 1.4's state calls), as module functions:
//   get(key) -> bytes | None, put(key, value), erase(key),
//   scan(prefix=b"", limit=None) -> list of (key, value) in key order
// Keys and values are bytes or str (UTF-8). A call outside a step's function,
// or one the host refuses (no `state:` on the step, a value over
// max_value_bytes), raises streams.state.StateError; the host then fails the
// input whatever the function does.
// `streams.metrics` too: increment(name, value=1) adds to the step's counter
// (ABI 1.11's counter and count), gauge(name, value) and gauge_add(name,
// delta) set or move its gauge, observe(name, value, buckets=None) counts a
// value in its histogram (ABI 1.12); a name the host refuses keeps nothing.
// Thread: the GIL held; the current call is per thread.
#pragma once

#include <streams/plugin_abi.h>

#include "python/describe.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace streams::python {

// An instance's metric handles by kind and name (streams.metrics).
struct MetricHandles {
  using ByName = std::map<std::string, uint32_t, std::less<>>;
  ByName counters, gauges, histograms;
};

// Creates the native modules `streams._state`, `streams._metrics` and
// `streams._log` (write(level, text): the step's log in a call, else the
// host's log as set_host_log gave it, else stderr); false with an exception
// set. GIL held; idempotent.
bool init_state_module();

// The host's log outside calls (describe.h, STREAMS_PYTHON_SET_LOG). Once,
// before Python runs.
void set_host_log(LogWriteFn write, LogLevelFn level);
// The host's log level (a STREAMS_LOG_* level; info when not told).
int32_t host_log_level();

// The call whose step the module's functions serve while it lives (nested
// calls restore the outer one); `handles`: its instance's, kept as long.
class StateScope {
 public:
  StateScope(const streams_host_api* host, streams_call* call, MetricHandles* handles);
  ~StateScope();
  StateScope(const StateScope&) = delete;
  StateScope& operator=(const StateScope&) = delete;

 private:
  const streams_host_api* host_;
  streams_call* call_;
  MetricHandles* handles_;
};

}  // namespace streams::python
