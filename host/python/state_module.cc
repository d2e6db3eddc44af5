#include "python/state_module.h"

#include <atomic>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "python/interpreter.h"

namespace streams::python {
namespace {

struct Current {
  const streams_host_api* host = nullptr;
  streams_call* call = nullptr;
  MetricHandles* handles = nullptr;
};
STREAMS_BRIDGE_TLS Current current;  // plain data: no destructor

// A native module's definition: `methods` at module level, no state.
PyModuleDef native_module(const char* name, const char* doc, PyMethodDef* methods) {
  return {PyModuleDef_HEAD_INIT, name, doc, -1, methods, nullptr, nullptr, nullptr, nullptr};
}

PyObject* state_error = nullptr;  // streams.state.StateError

std::atomic<LogWriteFn> host_write{nullptr};  // set_host_log
std::atomic<LogLevelFn> host_level{nullptr};

// The bytes of a key or value argument: bytes, or str as UTF-8.
bool bytes_of(PyObject* obj, const char* what, std::string_view* out) {
  char* data = nullptr;
  Py_ssize_t size = 0;
  if (PyBytes_Check(obj)) {
    if (PyBytes_AsStringAndSize(obj, &data, &size) != 0) return false;
  } else if (PyUnicode_Check(obj)) {
    const char* text = PyUnicode_AsUTF8AndSize(obj, &size);
    if (!text) return false;
    data = const_cast<char*>(text);
  } else {
    PyErr_Format(PyExc_TypeError, "the state %s must be bytes or str, not %s", what,
                 Py_TYPE(obj)->tp_name);
    return false;
  }
  *out = std::string_view(data, static_cast<size_t>(size));
  return true;
}

const uint8_t* u8(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// The current call, or null with StateError set.
const Current* usable() {
  if (!current.call) {
    PyErr_SetString(state_error, "streams.state is only usable while a step's function runs");
    return nullptr;
  }
  if (!STREAMS_HAS_FIELD(current.host, streams_host_api, state_scan)) {
    PyErr_SetString(state_error, "this host predates platform state (ABI 1.4)");
    return nullptr;
  }
  return &current;
}

// Raises for a status other than STREAMS_OK.
bool checked(int32_t status, const char* what) {
  if (status == STREAMS_OK) return true;
  PyErr_Format(state_error,
               status == STREAMS_FATAL
                   ? "state %s failed: the host's store failed and the host is stopping"
                   : "state %s refused (the step declares no `state:`, a key or value is too "
                     "large, or a state call came from a scan); the input fails",
               what);
  return false;
}

PyObject* get(PyObject*, PyObject* key_obj) {
  const Current* c = usable();
  std::string_view key;
  if (!c || !bytes_of(key_obj, "key", &key)) return nullptr;
  streams_bytes value{nullptr, 0};
  if (!checked(c->host->state_get(c->call, u8(key), key.size(), &value), "get")) return nullptr;
  if (!value.data) Py_RETURN_NONE;
  return PyBytes_FromStringAndSize(reinterpret_cast<const char*>(value.data),
                                   static_cast<Py_ssize_t>(value.size));
}

PyObject* put(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "put(key, value) takes two arguments");
    return nullptr;
  }
  const Current* c = usable();
  std::string_view key, value;
  if (!c || !bytes_of(args[0], "key", &key) || !bytes_of(args[1], "value", &value)) return nullptr;
  if (!checked(c->host->state_put(c->call, u8(key), key.size(), u8(value), value.size()), "put")) {
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* erase(PyObject*, PyObject* key_obj) {
  const Current* c = usable();
  std::string_view key;
  if (!c || !bytes_of(key_obj, "key", &key)) return nullptr;
  if (!checked(c->host->state_erase(c->call, u8(key), key.size()), "erase")) return nullptr;
  Py_RETURN_NONE;
}

PyObject* scan(PyObject*, PyObject* args, PyObject* kwargs) {
  static const char* names[] = {"prefix", "limit", nullptr};
  PyObject* prefix_obj = nullptr;
  Py_ssize_t limit = -1;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|On:scan", const_cast<char**>(names), &prefix_obj,
                                   &limit)) {
    return nullptr;
  }
  const Current* c = usable();
  std::string_view prefix;
  if (!c || (prefix_obj && !bytes_of(prefix_obj, "prefix", &prefix))) return nullptr;
  Ref list(PyList_New(0));
  if (!list) return nullptr;
  struct Ctx {
    PyObject* list;
    Py_ssize_t limit;
    bool failed = false;
  } ctx{list.get(), limit};
  auto visit = [](void* p, streams_bytes key, streams_bytes value) -> int32_t {
    Ctx& x = *static_cast<Ctx*>(p);
    if (x.limit >= 0 && PyList_GET_SIZE(x.list) >= x.limit) return 1;
    Ref k(PyBytes_FromStringAndSize(reinterpret_cast<const char*>(key.data),
                                    static_cast<Py_ssize_t>(key.size)));
    Ref v(PyBytes_FromStringAndSize(reinterpret_cast<const char*>(value.data),
                                    static_cast<Py_ssize_t>(value.size)));
    Ref item(k && v ? PyTuple_Pack(2, k.get(), v.get()) : nullptr);
    if (!item || PyList_Append(x.list, item.get()) != 0) {
      x.failed = true;
      return 1;
    }
    return 0;
  };
  const int32_t status = c->host->state_scan(c->call, u8(prefix), prefix.size(), visit, &ctx);
  if (ctx.failed || !checked(status, "scan")) return nullptr;
  return list.release();
}

PyMethodDef methods[] = {
    {"get", get, METH_O, "get(key) -> bytes or None: the value of key in the step's state"},
    {"put", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(put)), METH_FASTCALL,
     "put(key, value): sets key (bytes or str) to value (bytes or str)"},
    {"erase", erase, METH_O, "erase(key): removes key (absent: nothing happens)"},
    {"scan", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(scan)),
     METH_VARARGS | METH_KEYWORDS,
     "scan(prefix=b'', limit=None) -> [(key, value)]: the keys with prefix, in byte order"},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module_def =
    native_module("streams._state",
                  "The platform state of the running step (the streams host's bridge).", methods);

// The handle of a metric `name` from the instance's cache `by_name`, else
// from the host (make(name), which takes its lock and builds the name) and
// cached. GIL held.
template <class Make>
uint32_t handle_of(MetricHandles::ByName& by_name, std::string_view name, Make make) {
  const auto it = by_name.find(name);
  if (it != by_name.end()) return it->second;
  const uint32_t handle = make(name);
  by_name.emplace(std::string(name), handle);
  return handle;
}

// The host, when a step's function runs and the host has ABI 1.12's calls
// (`need_gauges`) or 1.11's; else null, with RuntimeError set when no
// function runs.
const streams_host_api* metrics_host(bool need_gauges) {
  if (!current.host) {
    PyErr_SetString(PyExc_RuntimeError,
                    "streams.metrics is only usable while a step's function runs");
    return nullptr;
  }
  const streams_host_api* host = current.host;
  if (need_gauges) return STREAMS_HAS_FIELD(host, streams_host_api, observe) ? host : nullptr;
  return STREAMS_HAS_FIELD(host, streams_host_api, count) ? host : nullptr;
}

// The name of a metrics call of `min` to `max` arguments, the first a str;
// false with TypeError (`usage`) set.
bool call_name(PyObject* const* args, Py_ssize_t nargs, Py_ssize_t min, Py_ssize_t max,
               const char* usage, std::string_view* name) {
  Py_ssize_t size = 0;
  const char* text = nargs >= min && nargs <= max && PyUnicode_Check(args[0])
                         ? PyUnicode_AsUTF8AndSize(args[0], &size)
                         : nullptr;
  if (!text) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, usage);
    return false;
  }
  *name = std::string_view(text, static_cast<size_t>(size));
  return true;
}

// streams._metrics.increment(name, value=1): adds to the step's counter.
PyObject* increment(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  std::string_view name;
  if (!call_name(args, nargs, 1, 2, "increment(name: str, value: int = 1)", &name)) {
    return nullptr;
  }
  const unsigned long long value = nargs == 2 ? PyLong_AsUnsignedLongLong(args[1]) : 1;
  if (value == static_cast<unsigned long long>(-1) && PyErr_Occurred()) return nullptr;
  const streams_host_api* host = metrics_host(false);
  if (!host) return PyErr_Occurred() ? nullptr : Py_NewRef(Py_None);
  const uint32_t handle = handle_of(current.handles->counters, name, [host](std::string_view n) {
    return host->counter(host->host_ctx, n.data(), n.size());
  });
  host->count(host->host_ctx, handle, value);
  Py_RETURN_NONE;
}

// gauge(name, value) sets the step's gauge; gauge_add(name, delta) adds to it.
template <bool kAdd>
PyObject* gauge(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  const char* usage =
      kAdd ? "gauge_add(name: str, delta: float)" : "gauge(name: str, value: float)";
  std::string_view name;
  if (!call_name(args, nargs, 2, 2, usage, &name)) return nullptr;
  const double value = PyFloat_AsDouble(args[1]);
  if (value == -1.0 && PyErr_Occurred()) return nullptr;
  const streams_host_api* host = metrics_host(true);
  if (!host) return PyErr_Occurred() ? nullptr : Py_NewRef(Py_None);
  const uint32_t handle = handle_of(current.handles->gauges, name, [host](std::string_view n) {
    return host->gauge(host->host_ctx, n.data(), n.size());
  });
  (kAdd ? host->gauge_add : host->gauge_set)(host->host_ctx, handle, value);
  Py_RETURN_NONE;
}

// The floats of a buckets argument (None: none); false with an exception.
bool bounds_of(PyObject* arg, std::vector<double>* out) {
  if (arg == Py_None) return true;
  Ref seq(PySequence_Fast(arg, "observe(): buckets must be a sequence of numbers"));
  if (!seq) return false;
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.get());
  for (Py_ssize_t i = 0; i < n; ++i) {
    const double b = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq.get(), i));
    if (b == -1.0 && PyErr_Occurred()) return false;
    out->push_back(b);
  }
  return true;
}

// observe(name, value, buckets=None): counts value in the step's histogram,
// made with `buckets` (its upper bounds) by the first call.
PyObject* observe(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  const char* usage = "observe(name: str, value: float, buckets: list[float] | None = None)";
  std::string_view name;
  if (!call_name(args, nargs, 2, 3, usage, &name)) return nullptr;
  const double value = PyFloat_AsDouble(args[1]);
  if (value == -1.0 && PyErr_Occurred()) return nullptr;
  const streams_host_api* host = metrics_host(true);
  if (!host) return PyErr_Occurred() ? nullptr : Py_NewRef(Py_None);
  bool failed = false;
  const uint32_t handle = handle_of(current.handles->histograms, name, [&](std::string_view n) {
    std::vector<double> bounds;
    if (nargs == 3 && !bounds_of(args[2], &bounds)) {
      failed = true;
      return 0u;
    }
    return host->histogram(host->host_ctx, n.data(), n.size(), bounds.data(), bounds.size());
  });
  if (failed) {
    current.handles->histograms.erase(std::string(name));  // ask again on the next call
    return nullptr;
  }
  host->observe(host->host_ctx, handle, value);
  Py_RETURN_NONE;
}

template <class F>
PyCFunction fast(F f) {
  return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f));
}

PyMethodDef metrics_methods[] = {
    {"increment", fast(increment), METH_FASTCALL,
     "increment(name, value=1): adds value to the step's counter name (1 to 64 of a-z, 0-9, _)"},
    {"gauge", fast(gauge<false>), METH_FASTCALL, "gauge(name, value): sets the step's gauge name"},
    {"gauge_add", fast(gauge<true>), METH_FASTCALL,
     "gauge_add(name, delta): adds delta (negative: subtracts) to the step's gauge name"},
    {"observe", fast(observe), METH_FASTCALL,
     "observe(name, value, buckets=None): counts value in the step's histogram name, whose "
     "buckets' upper bounds the first call gives (None: seconds from 0.001 to 10)"},
    {nullptr, nullptr, 0, nullptr}};

// streams._log.write(level, text): a line of the log, from Python's logging
// (streams/host_logging.py).
PyObject* log_write(PyObject*, PyObject* const* args, Py_ssize_t n) {
  if (n != 2 || !PyLong_Check(args[0]) || !PyUnicode_Check(args[1])) {
    PyErr_SetString(PyExc_TypeError, "write(level: int, text: str)");
    return nullptr;
  }
  const long level = PyLong_AsLong(args[0]);
  Py_ssize_t size = 0;
  const char* text = PyUnicode_AsUTF8AndSize(args[1], &size);
  if (!text) return nullptr;
  const int32_t lvl = level < STREAMS_LOG_DEBUG   ? STREAMS_LOG_DEBUG
                      : level > STREAMS_LOG_ERROR ? STREAMS_LOG_ERROR
                                                  : static_cast<int32_t>(level);
  const auto length = static_cast<size_t>(size);
  if (current.host) {
    current.host->log(current.host->host_ctx, lvl, text, length);
  } else if (const LogWriteFn write = host_write.load(std::memory_order_acquire)) {
    write(lvl, text, length);
  } else {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(length), text);
  }
  Py_RETURN_NONE;
}

PyMethodDef log_methods[] = {{"write", fast(log_write), METH_FASTCALL,
                              "write(level, text): a line of the host's log (level 0 debug to "
                              "3 error), named by the running step if any"},
                             {nullptr, nullptr, 0, nullptr}};

PyModuleDef log_def =
    native_module("streams._log", "The streams host's log (the bridge's).", log_methods);

PyModuleDef metrics_def = native_module(
    "streams._metrics",
    "Counters, gauges and histograms of the running step (the streams host's bridge).",
    metrics_methods);

}  // namespace

bool init_state_module() {
  if (state_error) return true;  // made before (describe, then an instance)
  Ref module(PyModule_Create(&module_def));
  if (!module) return false;
  state_error = PyErr_NewException("streams.state.StateError", PyExc_RuntimeError, nullptr);
  if (!state_error || PyModule_AddObjectRef(module.get(), "StateError", state_error) != 0) {
    return false;
  }
  Ref counters(PyModule_Create(&metrics_def));
  Ref log(PyModule_Create(&log_def));
  PyObject* modules = PyImport_GetModuleDict();  // borrowed
  return counters && log && PyDict_SetItemString(modules, "streams._state", module.get()) == 0 &&
         PyDict_SetItemString(modules, "streams._metrics", counters.get()) == 0 &&
         PyDict_SetItemString(modules, "streams._log", log.get()) == 0;
}

void set_host_log(LogWriteFn write, LogLevelFn level) {
  host_write.store(write, std::memory_order_release);
  host_level.store(level, std::memory_order_release);
}

int32_t host_log_level() {
  const LogLevelFn level = host_level.load(std::memory_order_acquire);
  return level ? level() : STREAMS_LOG_INFO;
}

StateScope::StateScope(const streams_host_api* host, streams_call* call, MetricHandles* handles)
    : host_(current.host), call_(current.call), handles_(current.handles) {
  current = {host, call, handles};
}

StateScope::~StateScope() { current = {host_, call_, handles_}; }

}  // namespace streams::python
