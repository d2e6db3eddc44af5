// Inside the Python bridge (python_bridge.cc, aggregate.cc): a step
// instance and the per-call helpers its functions share.
// Thread: one call at a time per instance (the ABI's rule); every helper
// below needs the GIL (Gil) unless it says otherwise.
#pragma once

#include <streams/plugin_abi.h>

#include <cstddef>
#include <string>
#include <vector>

#include "python/interpreter.h"
#include "python/json_codec.h"
#include "python/message.h"
#include "python/state_module.h"

namespace streams::python {

struct Instance {
  const streams_host_api* host = nullptr;
  std::string callable;
  Ref fn;      // the callable; an aggregate's accumulator factory
  Ref schema;  // str or None
  Payload payload = Payload::bytes;
  // Its values reach a step that reads bytes (a sink, a serializer, a C++
  // step) before any Python step: one JSON cannot represent is an error of
  // the record, not its repr().
  bool values_to_host = false;
  // It gives a reduce's group key: one JSON cannot represent is its repr(),
  // which must not name the object's address (each would be a key alone).
  bool key = false;
  Ref message;                  // reused while no function keeps it
  std::vector<PyObject*> held;  // owners of the outputs last emitted
  struct Out {
    streams_bytes value;  // with `encoded`: set by emit_all
    PyObject* object;     // what the function returned (in `held`); null for None
    bool encoded;         // value is encoded[offset, offset + size)
    size_t offset, size;
  };
  std::vector<Out> outs;
  JsonCodec codec;
  std::string encoded;  // JSON written by `codec` for outs; reused
  // Aggregates: the accumulator object last pickled, and its pickle.
  Ref last_acc, last_acc_bytes;
  MetricHandles metrics;     // streams.metrics' handles
  bool warned_lazy = false;  // said once that it returned a generator or coroutine

  void release_held() {
    for (PyObject* o : held) Py_DECREF(o);
    held.clear();
  }
};

// Reports the pending Python exception as the record's error (kind
// exception; DLQ details exception_type and traceback), `doing` before its
// text if given. Returns STREAMS_RECORD_ERROR.
int32_t fail(Instance* inst, streams_call* call, const char* doing = nullptr);

// `obj` as output bytes into *out, keeping what owns them in inst->held
// (see python_bridge.cc). False with an exception set.
bool to_bytes(Instance* inst, PyObject* obj, Instance::Out* out);

// Calls `fn` with the Message of `input`; null with an exception set.
// `pass_on`: the step hands its input on unchanged (filter, route).
PyObject* call_with(Instance* inst, PyObject* fn, const streams_record* input, streams_call* call,
                    bool pass_on = false);

// Emits inst->outs with the call's input's key, headers and timestamp.
// Without the GIL.
int32_t emit_all(Instance* inst, streams_call* call);

// The aggregate function's entries (aggregate.cc).
int32_t aggregate_init(void* instance, streams_call* call);
int32_t aggregate_add(void* instance, streams_bytes acc, const streams_record* input,
                      streams_call* call);
int32_t aggregate_merge(void* instance, streams_bytes first, streams_bytes second,
                        streams_call* call);
int32_t aggregate_result(void* instance, streams_bytes acc, const streams_record* window,
                         streams_call* call);

}  // namespace streams::python
