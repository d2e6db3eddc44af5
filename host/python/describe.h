// The Python bridge's entry points for the control plane (not part of the
// plugin ABI: the host and its bridge are built together): describe a
// Python pipeline file as the text of a YAML pipeline file; Python's reason
// for refusing a JSON text; the generations' holds on module versions.
//
// The text has one `#@ N` comment per line, N the line of the Python file
// that made what the line describes; its `python:` names resolve in the
// bridge while the same module version (`code`) is in use.
// Thread: any; the call takes the GIL.
#pragma once

#include <cstddef>

namespace streams::python {

// In the `python:` names of the callables a Python pipeline file defines
// (streams/pipeline/describe.py registers them as attributes of
// MODULE.__streams_callables__): names made up by the host, which errors
// should not show.
inline constexpr char kRegisteredCallables[] = ".__streams_callables__.";

struct DescribeRequest {
  const char* file;         // the pipeline file (.py)
  const char* const* dirs;  // the user's module directories, dir_count of them
  size_t dir_count;
  const char* lib;          // the host's Python package directory
  const char* code;         // the version of the user's modules
  const char* schemas_dir;  // where Parser steps look for <stream>.schema.json
};

// kDescribeModule: the file of each of the user's modules (under `dirs`)
// the pipeline file imported, itself excluded.
enum { kDescribeText = 0, kDescribeWarning = 1, kDescribeError = 2, kDescribeModule = 3 };

// Receives the text, each warning and module file, or the error (data
// valid for the call).
struct DescribeSink {
  void* ctx;
  void (*write)(void* ctx, int kind, const char* data, size_t size);
};

using DescribeFn = int (*)(const DescribeRequest*, const DescribeSink*);

}  // namespace streams::python

// Returns 0 after writing the text (and any warnings), 1 after an error.
#define STREAMS_PYTHON_DESCRIBE streams_python_describe_v1
#define STREAMS_PYTHON_DESCRIBE_NAME "streams_python_describe_v1"

// What a YAML pipeline's Python uses (`render k8s`): each dotted name (its
// `python:` callables) resolved as at run time, in version `code` of the
// modules under `dirs`; then the file of each of the user's modules that
// loaded (kDescribeModule: what they import too), and a kDescribeError for
// each name that did not resolve. Thread: any; takes the GIL.
namespace streams::python {
struct ImportRequest {
  const char* const* names;
  size_t name_count;
  const char* const* dirs;
  size_t dir_count;
  const char* lib;
  const char* code;
};
using ImportFn = int (*)(const ImportRequest*, const DescribeSink*);
}  // namespace streams::python
// Returns 0 when every name resolved, 1 otherwise.
#define STREAMS_PYTHON_IMPORT streams_python_import_v1
#define STREAMS_PYTHON_IMPORT_NAME "streams_python_import_v1"

// What Python's `json.loads` says of `text` (size bytes), as
// "JSONDecodeError: Expecting value: line 1 column 1 (char 0)": the parser
// steps of a Python pipeline file report JSON errors in the words its
// author knows. Writes at most out_size - 1 bytes and a NUL; returns the
// length written, or 0 if Python reads the text (then the host's own
// reason stands). Thread: any; takes the GIL. Rare path: errors only.
namespace streams::python {
using JsonErrorFn = size_t (*)(const char* text, size_t size, char* out, size_t out_size);
}
#define STREAMS_PYTHON_JSON_ERROR streams_python_json_error_v1
#define STREAMS_PYTHON_JSON_ERROR_NAME "streams_python_json_error_v1"

// A generation that runs the user's modules at version `code` (size bytes)
// holds it while it lives (delta +1 when built, -1 when destroyed): the
// bridge keeps what that version's names resolved to, so that instances
// can be made for partitions assigned later, until no generation holds it
// and its modules are no longer those in sys.modules; the next resolve then
// lets them go (a reload's old modules, and all they allocated, are freed).
// Thread: any; takes no GIL (a count under a lock).
namespace streams::python {
using HoldFn = void (*)(const char* code, size_t size, int delta);
}
#define STREAMS_PYTHON_HOLD streams_python_hold_v1
#define STREAMS_PYTHON_HOLD_NAME "streams_python_hold_v1"

// The host's log, for what Python's `logging` says outside a step's call
// (at import, on a thread of the user's; in a call it goes through the
// step's host API, named by the step): `write` takes a STREAMS_LOG_* level
// and UTF-8 text; `level` says the host's level, which Python's root logger
// takes whenever instances are made. Called once, right after the bridge is
// loaded, before any other call. Thread: any.
namespace streams::python {
using LogWriteFn = void (*)(int32_t level, const char* text, size_t size);
using LogLevelFn = int32_t (*)();
using SetLogFn = void (*)(LogWriteFn write, LogLevelFn level);
}  // namespace streams::python
#define STREAMS_PYTHON_SET_LOG streams_python_set_log_v1
#define STREAMS_PYTHON_SET_LOG_NAME "streams_python_set_log_v1"

// The host's log level changed (a STREAMS_LOG_* level: `log-level`, POST
// /log-level): Python's root logger takes it now, if Python runs. Thread:
// any; takes the GIL.
namespace streams::python {
using LogLevelChangedFn = void (*)(int32_t level);
}
#define STREAMS_PYTHON_LOG_LEVEL streams_python_log_level_v1
#define STREAMS_PYTHON_LOG_LEVEL_NAME "streams_python_log_level_v1"
