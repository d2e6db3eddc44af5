// The Python bridge: a streams plugin whose functions call Python callables
// in the interpreter it embeds. The host binds a pipeline step with
// `python: module.function` to the bridge function of the step's kind and
// passes, as the step's config, what to call:
//
//   {"callable": "transforms.enrich", "path": ["/dir", ...],
//    "code": "<hash of the user's .py files>", "payload": "bytes"|"json"|"batch",
//    "schema": "<source stream>", "values_to_host": true|false, "key": true|false}
//
// Per call: the GIL is held only while Python runs; outputs are emitted
// after it is released (downstream steps and sinks run without it). The
// Python objects behind emitted bytes are kept until the next call, so no
// output is copied on the way out. A Python exception is an error of the
// record (kind exception) naming its type, text and traceback.
//
// The plugin stays loaded for the life of the process (see interpreter.h).
#include <streams/plugin_abi.h>

#include <cstddef>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/version.h"
#include "python/bridge.h"
#include "python/describe.h"
#include "python/interpreter.h"
#include "python/json_codec.h"
#include "python/message.h"
#include "python/state_module.h"

namespace streams::python {
namespace {

// ---- config and creation -------------------------------------------------

void write_error(char* error, size_t size, const std::string& text) {
  if (size == 0) return;
  const size_t n = text.size() < size - 1 ? text.size() : size - 1;
  std::memcpy(error, text.data(), n);
  error[n] = '\0';
}

bool read_config(const nlohmann::json& config, Instance* inst, Modules* modules,
                 std::string* error) {
  if (!config.is_object() || !config.contains("callable") || !config["callable"].is_string()) {
    *error = "the step's config names no Python callable (the host sets it from `python:`)";
    return false;
  }
  inst->callable = config["callable"].get<std::string>();
  if (auto it = config.find("path"); it != config.end() && it->is_array()) {
    for (const auto& dir : *it) {
      if (dir.is_string()) modules->path.push_back(dir.get<std::string>());
    }
  }
  modules->lib = config.value("lib", std::string());
  modules->code = config.value("code", std::string());
  const std::string payload = config.value("payload", std::string("bytes"));
  inst->payload = payload == "json"    ? Payload::json
                  : payload == "batch" ? Payload::batch
                                       : Payload::bytes;
  inst->values_to_host = config.value("values_to_host", false);
  inst->key = config.value("key", false);
  return true;
}

// Why `fn` cannot be called with `args` positional arguments
// (streams/callables.py), or empty: it can, or its signature cannot be read.
std::string arity_refusal(PyObject* fn, int args) {
  Ref callables(PyImport_ImportModule("streams.callables"));
  Ref said(callables ? PyObject_CallMethod(callables.get(), "refusal", "Oi", fn, args) : nullptr);
  const char* text = said && said.get() != Py_None ? PyUnicode_AsUTF8(said.get()) : nullptr;
  PyErr_Clear();
  return text ? text : "";
}

// How errors name `fn`, found as `name`: the name, or for a callable a
// Python pipeline file registered under a made-up one, its __qualname__.
std::string shown_name(PyObject* fn, const std::string& name) {
  if (name.find(kRegisteredCallables) == std::string::npos) return name;
  Ref qualname(PyObject_GetAttrString(fn, "__qualname__"));
  const char* text =
      qualname && PyUnicode_Check(qualname.get()) ? PyUnicode_AsUTF8(qualname.get()) : nullptr;
  PyErr_Clear();
  return text ? std::string("the function ") + text : "the function";
}

// `args`: what the callable is called with, the message (1) or nothing (an
// aggregate's accumulator factory, 0).
void* create(const streams_host_api* host, const char* config_json, size_t config_size, char* error,
             size_t error_size, int args) {
  std::string why;
  if (!start(&why)) {
    write_error(error, error_size, why);
    return nullptr;
  }
  auto* inst = new Instance;
  inst->host = host;
  Modules modules;
  const auto config = nlohmann::json::parse(config_json, config_json + config_size, nullptr, false);
  if (!read_config(config, inst, &modules, &why)) {
    write_error(error, error_size, why);
    delete inst;
    return nullptr;
  }
  Gil gil;
  static const bool type_ready = init_message_type() && init_state_module();
  PyObject* fn = type_ready ? resolve(inst->callable, modules, &why) : nullptr;
  if (!type_ready) why = "cannot create the bridge's types: " + take_exception().message;
  if (fn && !PyCallable_Check(fn)) {
    why = inst->callable + " is not callable (it is a " + Py_TYPE(fn)->tp_name + ")";
    Py_DECREF(fn);
    fn = nullptr;
  } else if (std::string bad = fn ? arity_refusal(fn, args) : ""; !bad.empty()) {
    why = shown_name(fn, inst->callable) +
          (args ? " cannot take the message, its one argument: "
                : " cannot be called with no arguments, as a reduce's accumulator factory is: ") +
          bad;
    Py_DECREF(fn);
    fn = nullptr;
  }
  if (!fn) {
    write_error(error, error_size, why);
    delete inst;
    return nullptr;
  }
  inst->fn = Ref(fn);
  if (const auto [level, line] = take_environment_note(); !line.empty()) {
    host->log(host->host_ctx, level, line.data(), line.size());
  }
  const auto s = config.find("schema");
  inst->schema =
      Ref(s != config.end() && s->is_string() ? PyUnicode_FromString(s->get<std::string>().c_str())
                                              : Py_NewRef(Py_None));
  if (!inst->schema) {
    PyErr_Clear();
    inst->schema = Ref(Py_NewRef(Py_None));
  }
  return inst;
}

void destroy(void* p) {
  auto* inst = static_cast<Instance*>(p);
  Gil gil;
  inst->release_held();
  delete inst;  // drops its references under the GIL
}

// ---- per call ----------------------------------------------------------------

// The Message for `input`: the reused one, or a new one. Borrowed; null with
// an exception set.
PyObject* message_for(Instance* inst, const streams_record* input, streams_call* call) {
  if (inst->message) {
    rebind_message(inst->message.get(), input, call);
  } else {
    inst->message =
        Ref(new_message(input, inst->host, call, inst->payload, &inst->codec, inst->schema.get()));
  }
  return inst->message.get();
}

void end_message(Instance* inst) {
  if (inst->message && !detach_message(inst->message.get())) inst->message = Ref();
}

}  // namespace

// Reports the pending Python exception as the record's error.
int32_t fail(Instance* inst, streams_call* call, const char* doing) {
  const bool stop_request =
      PyErr_ExceptionMatches(PyExc_SystemExit) || PyErr_ExceptionMatches(PyExc_KeyboardInterrupt);
  Exception e = take_exception();
  std::string text = e.type + ": " + e.message;
  if (doing) text = std::string(doing) + ": " + text;
  // The host takes 64 KiB a message or detail; an exception may say more.
  constexpr size_t kMax = 60000;
  if (text.size() > kMax) text.resize(kMax);
  if (e.traceback.size() > kMax) e.traceback.erase(0, e.traceback.size() - kMax);
  if (stop_request) {
    const std::string line = inst->callable + " raised " + e.type +
                             "; a transform cannot stop the host: the record is an error";
    inst->host->log(inst->host->host_ctx, STREAMS_LOG_WARN, line.data(), line.size());
  }
  inst->host->set_error(call, STREAMS_ERR_EXCEPTION, text.data(), text.size());
  // Type and traceback as details of their own (DLQ headers), where the
  // host has them; else the traceback follows the message.
  const streams_host_api& host = *inst->host;
  if (STREAMS_HAS_FIELD(&host, streams_host_api, set_error_detail)) {
    host.set_error_detail(call, "exception_type", 14, e.type.data(), e.type.size());
    if (!e.traceback.empty()) {
      host.set_error_detail(call, "traceback", 9, e.traceback.data(), e.traceback.size());
    }
  } else if (!e.traceback.empty()) {
    text += "\n" + e.traceback;
    host.set_error(call, STREAMS_ERR_EXCEPTION, text.data(), text.size());
  }
  return STREAMS_RECORD_ERROR;
}

namespace {

// What `obj` is when it is a generator or coroutine (a `yield` or an
// `async def` in a transform, by mistake more often than not), else null.
const char* lazy_kind(PyObject* obj) {
  return PyGen_Check(obj)             ? "a generator (a function with yield)"
         : PyCoro_CheckExact(obj)     ? "a coroutine (an async def, never awaited)"
         : PyAsyncGen_CheckExact(obj) ? "an async generator"
                                      : nullptr;
}

// Returned as a value where only Python steps read it (they get the object
// itself) or as a group_by key: said once an instance, in the log, since a
// key is its repr().
void warn_if_lazy(Instance* inst, PyObject* obj) {
  if (inst->warned_lazy) return;
  const char* what = lazy_kind(obj);
  if (!what) return;
  inst->warned_lazy = true;
  const std::string line = inst->callable + " returned " + what +
                           " as a value: a Python step after it gets it as it is, a key its "
                           "repr(), not what it makes (a map returns one value; a flat_map returns "
                           "an iterable)";
  inst->host->log(inst->host->host_ctx, STREAMS_LOG_WARN, line.data(), line.size());
}

// Where a generator or coroutine cannot be what `inst` means (a filter's
// truth, a route's branch): *result becomes a TypeError saying so, `wants`
// after it. A coroutine is closed first, so Python prints no "never
// awaited" beside the log.
void refuse_lazy(Instance* inst, Ref* result, const char* wants) {
  const char* what = *result ? lazy_kind(result->get()) : nullptr;
  if (!what) return;
  if (PyCoro_CheckExact(result->get())) Ref(PyObject_CallMethod(result->get(), "close", nullptr));
  PyErr_Clear();  // close()'s, if any
  PyErr_Format(PyExc_TypeError, "%s returned %s: %s", inst->callable.c_str(), what, wants);
  *result = Ref();
}

}  // namespace

// `obj` as output bytes: bytes as they are, str as UTF-8, None as a null
// value, anything else as JSON text (json.dumps, as the original's
// Serializer writes it, datetimes as isoformat()). One JSON cannot
// represent is an error where a step reading bytes comes next; where only
// Python steps get it (they get the object itself), its repr(). Keeps `obj`
// and what owns the bytes in inst->held. False with an exception set.
bool to_bytes(Instance* inst, PyObject* obj, Instance::Out* out) {
  *out = Instance::Out{{nullptr, 0}, obj, false, 0, 0};
  PyObject* owner = nullptr;
  if (PyBytes_Check(obj) || PyUnicode_Check(obj)) {
    owner = Py_NewRef(obj);
  } else if (obj == Py_None) {
    out->object = nullptr;
    return true;
  } else if (PyByteArray_Check(obj) || PyMemoryView_Check(obj)) {
    owner = PyBytes_FromObject(obj);
  } else if (const size_t start = inst->encoded.size(); inst->codec.dumps(obj, &inst->encoded)) {
    inst->held.push_back(Py_NewRef(obj));
    out->encoded = true;
    out->offset = start;
    out->size = inst->encoded.size() - start;
    return true;
  } else {
    owner = dumps_json(obj);
    if (!owner && PyErr_ExceptionMatches(PyExc_TypeError)) {
      // Not representable in JSON (a dataclass, say): Python steps after
      // this one get the object itself; the bytes are never read.
      PyErr_Clear();
      if (inst->values_to_host) {
        const char* lazy = lazy_kind(obj);
        // The error names the step; the DSL's callables have made-up names.
        PyErr_Format(PyExc_TypeError,
                     "the function returned %s%s, which JSON cannot represent, to a step that "
                     "reads bytes (a sink, a serializer, a batch or a C++ step): return bytes, "
                     "str or JSON values (dict, list, str, number, bool, None, datetime)",
                     lazy ? lazy : "a ", lazy ? "" : Py_TYPE(obj)->tp_name);
        return false;
      }
      if (inst->key && (Py_TYPE(obj)->tp_repr == PyBaseObject_Type.tp_repr || lazy_kind(obj))) {
        PyErr_Format(PyExc_TypeError,
                     "the group_by function returned a %s, which JSON cannot represent and whose "
                     "repr() names its address, so no two records would share a key: return a "
                     "str, a number, a tuple, or an object whose repr() shows its fields (a "
                     "dataclass)",
                     Py_TYPE(obj)->tp_name);
        return false;
      }
      warn_if_lazy(inst, obj);
      owner = PyObject_Repr(obj);
    }
  }
  if (!owner) return false;
  inst->held.push_back(owner);
  if (owner != obj) inst->held.push_back(Py_NewRef(obj));
  Py_ssize_t size = 0;
  const char* data = nullptr;
  if (PyBytes_Check(owner)) {
    data = PyBytes_AS_STRING(owner);
    size = PyBytes_GET_SIZE(owner);
  } else {
    data = PyUnicode_AsUTF8AndSize(owner, &size);
    if (!data) return false;
  }
  out->value = {reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(size)};
  return true;
}

// Calls inst->fn with the Message of `input`; null with an exception set.
// `pass_on`: the step hands its input on unchanged (filter, route), so its
// parsed payload may go to the Python step after it (message.h).
PyObject* call_with(Instance* inst, PyObject* fn, const streams_record* input, streams_call* call,
                    bool pass_on) {
  PyObject* message = message_for(inst, input, call);
  if (!message) return nullptr;
  PyObject* result = PyObject_CallOneArg(fn, message);
  if (result && pass_on) python::pass_on(message);
  end_message(inst);
  return result;
}

// Emits inst->outs, each with the key, headers and timestamp of the call's
// input (for a window's result: the window's key and timestamp).
int32_t emit_all(Instance* inst, streams_call* call) {
  Handoff& slot = handoff();
  const Handoff saved = slot;
  int32_t status = STREAMS_OK;
  for (Instance::Out& o : inst->outs) {
    if (o.encoded) {
      o.value = {reinterpret_cast<const uint8_t*>(inst->encoded.data()) + o.offset, o.size};
    }
    const streams_record out{sizeof out, STREAMS_INHERIT_ALL, {}, o.value, nullptr, 0, -1};
    slot = o.value.data ? Handoff{o.value.data, o.value.size, o.object} : Handoff{};
    status = inst->host->emit(call, &out);
    if (status != STREAMS_OK) break;
  }
  slot = saved;
  return status;
}

namespace {

int32_t map_process(void* p, const streams_record* input, streams_call* call) {
  auto* inst = static_cast<Instance*>(p);
  inst->outs.clear();
  inst->encoded.clear();
  {
    Gil gil(inst->host, call);
    const StateScope state(inst->host, call, &inst->metrics);  // streams.state serves this call
    inst->release_held();
    Ref result(call_with(inst, inst->fn.get(), input, call));
    Instance::Out out;
    if (!result || !to_bytes(inst, result.get(), &out)) return fail(inst, call);
    inst->outs.push_back(out);
  }
  return emit_all(inst, call);
}

int32_t filter_process(void* p, const streams_record* input, streams_call* call) {
  auto* inst = static_cast<Instance*>(p);
  Gil gil(inst->host, call);
  const StateScope state(inst->host, call, &inst->metrics);
  inst->release_held();
  Ref result(call_with(inst, inst->fn.get(), input, call, /*pass_on=*/true));
  refuse_lazy(inst, &result, "a filter returns a truth value");  // always true otherwise
  const int keep = result ? PyObject_IsTrue(result.get()) : -1;
  if (keep < 0) return fail(inst, call);
  return keep ? STREAMS_OK : STREAMS_DROP;
}

int32_t flat_map_process(void* p, const streams_record* input, streams_call* call) {
  auto* inst = static_cast<Instance*>(p);
  inst->outs.clear();
  inst->encoded.clear();
  {
    Gil gil(inst->host, call);
    const StateScope state(inst->host, call, &inst->metrics);  // streams.state serves this call
    inst->release_held();
    Ref result(call_with(inst, inst->fn.get(), input, call));
    if (!result) return fail(inst, call);
    if (result.get() == Py_None) return STREAMS_OK;  // nothing out
    Ref items(PyObject_GetIter(result.get()));
    if (!items) return fail(inst, call, "a flat_map returns an iterable");
    while (PyObject* item = PyIter_Next(items.get())) {
      Ref owned(item);
      Instance::Out out;
      if (!to_bytes(inst, item, &out)) return fail(inst, call);
      inst->outs.push_back(out);
    }
    if (PyErr_Occurred()) return fail(inst, call);
  }
  return emit_all(inst, call);
}

// The branch a route result names: a str, or an Enum member whose value (or
// else name) is one.
PyObject* branch_name(PyObject* result) {
  if (PyUnicode_Check(result)) return Py_NewRef(result);
  for (const char* attr : {"value", "name"}) {
    PyObject* v = PyObject_GetAttrString(result, attr);
    if (v && PyUnicode_Check(v)) return v;
    Py_XDECREF(v);
    PyErr_Clear();
  }
  return PyObject_Str(result);
}

int32_t route_process(void* p, const streams_record* input, streams_call* call) {
  auto* inst = static_cast<Instance*>(p);
  Gil gil(inst->host, call);
  const StateScope state(inst->host, call, &inst->metrics);
  inst->release_held();
  Ref result(call_with(inst, inst->fn.get(), input, call, /*pass_on=*/true));
  refuse_lazy(inst, &result, "a route returns a branch name");
  Ref name(result ? branch_name(result.get()) : nullptr);
  Py_ssize_t size = 0;
  const char* text = name ? PyUnicode_AsUTF8AndSize(name.get(), &size) : nullptr;
  if (!text) return fail(inst, call);
  return inst->host->select_branch(call, text, static_cast<size_t>(size));
}

// ---- the descriptor ------------------------------------------------------------

streams_function function(int32_t kind, const char* name,
                          int32_t (*process)(void*, const streams_record*, streams_call*)) {
  streams_function f{};
  f.struct_size = sizeof f;
  f.kind = kind;
  f.name = name;
  f.create =
      kind == STREAMS_KIND_AGGREGATE
          ? [](const streams_host_api* host, const char* config, size_t size, char* error,
               size_t error_size) { return create(host, config, size, error, error_size, 0); }
          : [](const streams_host_api* host, const char* config, size_t size, char* error,
               size_t error_size) { return create(host, config, size, error, error_size, 1); };
  f.destroy = destroy;
  f.process = process;
  return f;
}

const streams_function kMap = function(STREAMS_KIND_MAP, "map", map_process);
const streams_function kFilter = function(STREAMS_KIND_FILTER, "filter", filter_process);
const streams_function kFlatMap = function(STREAMS_KIND_FLAT_MAP, "flat_map", flat_map_process);
const streams_function kRoute = function(STREAMS_KIND_ROUTE, "route", route_process);
const streams_function kAggregate = [] {
  streams_function f = function(STREAMS_KIND_AGGREGATE, "aggregate", nullptr);
  f.init = aggregate_init;
  f.add = aggregate_add;
  f.merge = aggregate_merge;
  f.result = aggregate_result;
  return f;
}();

const streams_function* const kFunctions[] = {&kMap, &kFilter, &kFlatMap, &kRoute, &kAggregate};

const streams_plugin kPlugin{sizeof(streams_plugin),
                             STREAMS_ABI_MAJOR,
                             STREAMS_ABI_MINOR,
                             "python",
                             STREAMS_VERSION,
                             sizeof kFunctions / sizeof kFunctions[0],
                             kFunctions};

}  // namespace
}  // namespace streams::python

extern "C" __attribute__((visibility("default"))) const streams_plugin* STREAMS_PLUGIN_ENTRY(void) {
  return &streams::python::kPlugin;
}
