#include "python/interpreter.h"

#include "python/state_module.h"

#include "common/edit_distance.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <streams/plugin_abi.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace streams::python {
namespace {

struct Cached {
  PyObject* json_loads = nullptr;
  PyObject* json_dumps = nullptr;
  PyObject* pickle_loads = nullptr;
  PyObject* pickle_dumps = nullptr;
  PyObject* format_exception = nullptr;  // traceback.format_exception
  PyObject* date_types = nullptr;        // (datetime.date, datetime.time)
  PyObject* dumps_kwargs = nullptr;      // {"default": iso_default}
};
Cached cached;

// User modules by version: what each dotted name resolved to, kept while a
// generation holds the version (describe.h, STREAMS_PYTHON_HOLD) or it is
// the one in sys.modules; an older one is let go at the next resolve
// (instances made from it keep their objects).
struct Versions {
  std::string current;  // the version whose modules are in sys.modules
  std::map<std::string, std::map<std::string, PyObject*>> objects;
};
Versions versions;

// The generations' holds by version; any thread, under holds_mutex.
std::mutex holds_mutex;
std::map<std::string, int> holds;
// A version's last hold ended: what it resolved to is let go by the next
// thread that takes the GIL (hold_version cannot take it: the thread
// dropping a generation may hold a lock a Python step's host call awaits).
std::atomic<bool> unheld{false};

bool held(const std::string& code) {
  std::lock_guard<std::mutex> lock(holds_mutex);
  return holds.count(code) != 0;
}

// Under the GIL: lets go of what versions no generation holds resolved to,
// but the current one's (its modules stay in sys.modules anyway). Taken out
// first: letting go runs Python (__del__), which may come back here.
void forget_unheld_versions() {
  unheld.store(false, std::memory_order_relaxed);
  std::vector<std::map<std::string, PyObject*>> gone;
  for (auto it = versions.objects.begin(); it != versions.objects.end();) {
    if (it->first == versions.current || held(it->first)) {
      ++it;
      continue;
    }
    gone.push_back(std::move(it->second));
    it = versions.objects.erase(it);
  }
  for (auto& objects : gone) {
    for (auto& [name, object] : objects) Py_DECREF(object);
  }
}

// json.dumps's `default`: dates, datetimes and times as isoformat() (the
// original's Serializer writes datetimes so), else the TypeError json raises.
PyObject* iso_default(PyObject*, PyObject* obj) {
  const int date = PyObject_IsInstance(obj, cached.date_types);
  if (date < 0) return nullptr;
  if (date) return PyObject_CallMethod(obj, "isoformat", nullptr);
  return PyErr_Format(PyExc_TypeError, "Object of type %s is not JSON serializable",
                      Py_TYPE(obj)->tp_name);
}

PyMethodDef iso_default_def = {"iso_default", &iso_default, METH_O, nullptr};

// Keeps this library and libpython mapped for the life of the process.
void pin_libraries() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&Py_InitializeFromConfig), &info) && info.dli_fname) {
    // Global, so the C extensions Python loads later (lib-dynload, NumPy)
    // find libpython's symbols: the host opened us with RTLD_LOCAL.
    ::dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD | RTLD_NODELETE);
  }
  if (::dladdr(reinterpret_cast<void*>(&pin_libraries), &info) && info.dli_fname) {
    ::dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  }
}

PyObject* attribute(const char* module, const char* name) {
  Ref m(PyImport_ImportModule(module));
  return m ? PyObject_GetAttrString(m.get(), name) : nullptr;
}

// The cached objects dumps_json needs; false with an exception set.
bool cache_dumps() {
  Ref date(attribute("datetime", "date")), time(attribute("datetime", "time"));
  if (!date || !time) return false;
  cached.date_types = PyTuple_Pack(2, date.get(), time.get());
  Ref fn(PyCFunction_New(&iso_default_def, nullptr));
  cached.dumps_kwargs = fn ? Py_BuildValue("{s:O}", "default", fn.get()) : nullptr;
  return cached.date_types && cached.dumps_kwargs;
}

std::string text_of(PyObject* o) {
  if (!o) return "";
  Ref s(PyObject_Str(o));
  if (!s) {
    PyErr_Clear();
    return "<unprintable>";
  }
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(s.get(), &size);
  if (!data) {
    PyErr_Clear();
    return "<unprintable>";
  }
  return std::string(data, static_cast<size_t>(size));
}

bool start_locked(std::string* error) {
  pin_libraries();
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.install_signal_handlers = 0;
  config.parse_argv = 0;
  // The standard library of the Python this bridge was built against, not
  // one a PATH lookup of "python3" finds (pyenv and the like).
  if (!std::getenv("PYTHONHOME")) {
    PyStatus st = PyConfig_SetBytesString(&config, &config.home, STREAMS_PYTHON_HOME);
    if (PyStatus_Exception(st)) {
      PyConfig_Clear(&config);
      *error = "cannot configure Python";
      return false;
    }
  }
  PyConfig_SetBytesString(&config, &config.program_name, "streams-host");
  PyStatus status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status)) {
    *error = std::string("Python failed to start: ") + (status.err_msg ? status.err_msg : "?");
    return false;
  }
  cached.json_loads = attribute("json", "loads");
  cached.json_dumps = attribute("json", "dumps");
  cached.pickle_loads = attribute("pickle", "loads");
  cached.pickle_dumps = attribute("pickle", "dumps");
  cached.format_exception = attribute("traceback", "format_exception");
  const bool ok = cached.json_loads && cached.json_dumps && cached.pickle_loads &&
                  cached.pickle_dumps && cached.format_exception && cache_dumps();
  if (!ok) {
    const Exception e = take_exception();
    *error = "Python started without its standard library (json, pickle, traceback): " + e.type +
             ": " + e.message;
  }
  PyEval_SaveThread();  // the GIL is taken per call from now on
  return ok;
}

std::string real(const std::string& dir) {
  char buf[PATH_MAX];
  return ::realpath(dir.c_str(), buf) ? std::string(buf) : dir;
}

// Puts `path` first on sys.path (each once).
bool set_path(std::vector<std::string> path) {
  PyObject* sys_path = PySys_GetObject("path");  // borrowed
  if (!sys_path || !PyList_Check(sys_path)) return false;
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    Ref dir(PyUnicode_FromString(real(*it).c_str()));
    if (!dir) return false;
    const int has = PySequence_Contains(sys_path, dir.get());
    if (has < 0) return false;
    if (!has && PyList_Insert(sys_path, 0, dir.get()) != 0) return false;
  }
  return true;
}

// The stand-ins for names a file written for Sentry Streams imports
// (streams/fallbacks.py); idempotent.
bool install_fallbacks() {
  Ref fallbacks(PyImport_ImportModule("streams.fallbacks"));
  return fallbacks && Ref(PyObject_CallMethod(fallbacks.get(), "install", nullptr));
}

// Python's `logging` into the host's log (streams/host_logging.py), at the
// host's level now.
bool install_logging() {
  if (!init_state_module()) return false;
  Ref logging(PyImport_ImportModule("streams.host_logging"));
  return logging && Ref(PyObject_CallMethod(logging.get(), "install", "i", host_log_level()));
}

// $VIRTUAL_ENV's packages (streams/environment.py), once; what to say of
// it waits in `environment_note` for the first instance's log.
std::pair<int32_t, std::string> environment_note;

bool use_virtualenv() {
  Ref environment(PyImport_ImportModule("streams.environment"));
  // os.environ is what the process had when Python started; this is now.
  const char* venv = std::getenv("VIRTUAL_ENV");
  Ref said(environment ? PyObject_CallMethod(environment.get(), "use_virtualenv", "z",
                                             venv && *venv ? venv : nullptr)
                       : nullptr);
  if (!said) return false;
  const char *level = nullptr, *line = nullptr;
  if (said.get() != Py_None && PyArg_ParseTuple(said.get(), "ss", &level, &line)) {
    environment_note = {std::strcmp(level, "warn") == 0 ? STREAMS_LOG_WARN : STREAMS_LOG_INFO,
                        line};
  }
  return !PyErr_Occurred();
}

// Whether file `f` under user directory `dir` (ending in '/') is the
// user's: not in a hidden directory nor in a site-packages (a virtualenv
// beside the pipeline file: its packages, C extensions among them, stay
// loaded across reloads), as PythonProvider::code_hash skips them.
bool users_file(const std::string& f, const std::string& dir) {
  if (f.compare(0, dir.size(), dir) != 0) return false;
  const std::string rest = "/" + f.substr(dir.size());
  return rest.find("/.") == std::string::npos &&
         rest.find("/site-packages/") == std::string::npos &&
         rest.find("/dist-packages/") == std::string::npos;
}

// Calls each(name, file) for every module in sys.modules of the user's
// (users_file) loaded from a file under `path`.
template <class Each>
void each_user_module(const std::vector<std::string>& path, Each&& each) {
  PyObject* modules = PyImport_GetModuleDict();  // borrowed
  Ref items(PyDict_Items(modules));
  if (!items) return PyErr_Clear();
  std::vector<std::string> dirs;
  for (const std::string& d : path) dirs.push_back(real(d) + "/");
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items.get()); ++i) {
    PyObject* pair = PyList_GET_ITEM(items.get(), i);
    Ref file(PyObject_GetAttrString(PyTuple_GET_ITEM(pair, 1), "__file__"));
    const char* f = file && PyUnicode_Check(file.get()) ? PyUnicode_AsUTF8(file.get()) : nullptr;
    if (!f) {
      PyErr_Clear();
      continue;
    }
    for (const std::string& d : dirs) {
      if (users_file(f, d)) {
        each(PyTuple_GET_ITEM(pair, 0), f);
        break;
      }
    }
  }
  PyErr_Clear();
}

// Drops from sys.modules every module of the user's (users_file) loaded
// from a file under `path`, so the next import executes the files anew.
void forget_user_modules(const std::vector<std::string>& path) {
  PyObject* modules = PyImport_GetModuleDict();  // borrowed
  each_user_module(path, [modules](PyObject* name, const char*) { PyDict_DelItem(modules, name); });
  PyErr_Clear();
  Ref importlib(PyImport_ImportModule("importlib"));
  if (importlib) Ref(PyObject_CallMethod(importlib.get(), "invalidate_caches", nullptr));
  PyErr_Clear();
}

// True if the pending exception is ModuleNotFoundError for `module` itself
// or a package above it (so a shorter prefix may still be the module).
bool missing_module(const std::string& module) {
  if (!PyErr_ExceptionMatches(PyExc_ModuleNotFoundError)) return false;
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  Ref name(value ? PyObject_GetAttrString(value, "name") : nullptr);
  PyErr_Clear();
  std::string missing = name && PyUnicode_Check(name.get()) ? PyUnicode_AsUTF8(name.get()) : "";
  const bool ours = !missing.empty() && (module == missing || module.rfind(missing + ".", 0) == 0);
  if (ours) {
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
  } else {
    PyErr_Restore(type, value, tb);
  }
  return ours;
}

PyObject* lookup(const std::string& name, std::string* error) {
  std::vector<std::string> parts;
  for (size_t at = 0;;) {
    const size_t dot = name.find('.', at);
    parts.push_back(name.substr(at, dot == std::string::npos ? std::string::npos : dot - at));
    if (dot == std::string::npos) break;
    at = dot + 1;
  }
  for (size_t n = parts.size() - 1; n >= 1; --n) {
    std::string module = parts[0];
    for (size_t i = 1; i < n; ++i) module += "." + parts[i];
    Ref object(PyImport_ImportModule(module.c_str()));
    if (!object) {
      if (missing_module(module)) continue;
      *error = "importing " + module + " failed: " + describe(take_exception());
      if (error->find("signal only works in main thread") != std::string::npos) {
        *error +=
            " (the module calls signal.signal: the host owns the process's signals, and a "
            "Python handler would never run in it; drop the call)";
      }
      *error += import_hint(*error);
      return nullptr;
    }
    for (size_t i = n; i < parts.size(); ++i) {
      Ref next(PyObject_GetAttrString(object.get(), parts[i].c_str()));
      if (!next) {
        PyErr_Clear();
        *error = "module " + module + " has no " + parts[i] +
                 (i > n ? " in " + parts[n] : std::string());
        return nullptr;
      }
      object = std::move(next);
    }
    return object.release();
  }
  *error = "no module named " + parts[0] + " on the Python path";
  if (const std::string near = nearest_module(parts[0]); !near.empty()) {
    *error += "; did you mean '" + near + "'?";
  }
  return nullptr;
}

}  // namespace

bool start(std::string* error) {
  static std::mutex mutex;
  static bool started = false, failed = false;
  static std::string why;
  std::lock_guard<std::mutex> lock(mutex);
  if (!started && !failed) {
    if (Py_IsInitialized()) {
      // Another copy of the bridge started it (a reinstalled host file).
      started = true;
    } else if (start_locked(&why)) {
      started = true;
    } else {
      failed = true;
    }
  }
  if (failed) *error = why;
  return started;
}

std::string describe(const Exception& e) {
  std::string text = e.type + ": " + e.message;
  if (!e.traceback.empty()) text += "\n" + e.traceback;
  return text;
}

std::vector<std::string> user_module_files(const std::vector<std::string>& dirs) {
  std::vector<std::string> files;
  each_user_module(dirs, [&files](PyObject*, const char* file) { files.emplace_back(file); });
  return files;
}

std::string nearest_module(const std::string& name) {
  Ref environment(PyImport_ImportModule("streams.environment"));
  Ref names(environment ? PyObject_CallMethod(environment.get(), "module_names", nullptr)
                        : nullptr);
  std::vector<std::string> found;
  if (names && PyList_Check(names.get())) {
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(names.get()); ++i) {
      if (const char* text = PyUnicode_AsUTF8(PyList_GET_ITEM(names.get(), i))) {
        found.emplace_back(text);
      }
    }
  }
  PyErr_Clear();
  return nearest_name(name, found).value_or("");
}

std::string import_hint(const std::string& error) {
  constexpr std::string_view kMissing = "ModuleNotFoundError: No module named '";
  const size_t at = error.find(kMissing);
  if (at == std::string::npos) return "";
  // A typo of a module there is (`import transform_metric`) is not a package
  // to install.
  const size_t from = at + kMissing.size();
  const std::string top = error.substr(from, error.find_first_of(".'", from) - from);
  if (const std::string near = nearest_module(top); !near.empty()) {
    return "\n(no module " + top + " on the Python path; did you mean '" + near + "'?)";
  }
  if (const char* venv = std::getenv("VIRTUAL_ENV"); venv && *venv) {
    const bool unusable = environment_note.first == STREAMS_LOG_WARN;
    return unusable ? "\n(" + environment_note.second + ")" : "";
  }
  return "\n(a package installed in a virtualenv: start the host with that venv's VIRTUAL_ENV "
         "set, as its bin/activate sets it, or list its site-packages in the deployment's "
         "python_path)";
}

std::pair<int32_t, std::string> take_environment_note() {
  return std::exchange(environment_note, {});
}

bool use_modules(const Modules& m, std::string* error) {
  std::vector<std::string> path = m.path;
  if (!m.lib.empty()) path.push_back(m.lib);
  if (!set_path(path)) {
    *error = "cannot set sys.path: " + describe(take_exception());
    return false;
  }
  if (!m.lib.empty() && !install_fallbacks()) {
    *error = "cannot install the stand-ins of streams/fallbacks.py: " + describe(take_exception());
    return false;
  }
  if (!m.lib.empty() && !install_logging()) {
    *error = "cannot route Python's logging to the host's log: " + describe(take_exception());
    return false;
  }
  if (!m.lib.empty() && !use_virtualenv()) {
    *error = "cannot use $VIRTUAL_ENV's packages: " + describe(take_exception());
    return false;
  }
  if (m.code != versions.current) {
    forget_user_modules(m.path);
    versions.current = m.code;
  }
  return true;
}

PyObject* resolve(const std::string& name, const Modules& m, std::string* error) {
  const std::string& code = m.code;
  forget_unheld_versions();
  auto known = versions.objects.find(code);
  if (known != versions.objects.end()) {
    auto it = known->second.find(name);
    if (it != known->second.end()) {
      Py_INCREF(it->second);
      return it->second;
    }
  }
  if (code != versions.current && known != versions.objects.end()) {
    *error = "the Python modules changed on disk since this pipeline version was loaded";
    return nullptr;
  }
  if (!use_modules(m, error)) return nullptr;
  PyObject* object = lookup(name, error);
  if (!object) return nullptr;
  Py_INCREF(object);
  versions.objects[code][name] = object;
  return object;
}

void hold_version(const std::string& code, int delta) {
  std::lock_guard<std::mutex> lock(holds_mutex);
  int& count = holds[code];
  count += delta;
  if (count > 0) return;
  holds.erase(code);
  unheld.store(true, std::memory_order_relaxed);
}

Exception take_exception() {
  Exception e;
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  if (!type) return {"Error", "no exception set", ""};
  PyErr_NormalizeException(&type, &value, &tb);
  if (tb && value) PyException_SetTraceback(value, tb);
  Ref t(type), v(value), b(tb);
  e.type = reinterpret_cast<PyTypeObject*>(type)->tp_name;
  e.message = text_of(value);
  if (cached.format_exception && tb) {
    Ref lines(PyObject_CallFunctionObjArgs(cached.format_exception, type, value, tb, nullptr));
    if (lines && PyList_Check(lines.get())) {
      // The frames, without the header line and the final "Type: text".
      const Py_ssize_t n = PyList_GET_SIZE(lines.get());
      constexpr Py_ssize_t kFrames = 8;
      const Py_ssize_t first = n - 1 > kFrames + 1 ? n - 1 - kFrames : 1;
      for (Py_ssize_t i = first; i < n - 1; ++i) {
        std::string line = text_of(PyList_GET_ITEM(lines.get(), i));
        // Frames of the import machinery say nothing to a user.
        if (line.rfind("  File \"<frozen ", 0) != 0) e.traceback += line;
      }
      while (!e.traceback.empty() && e.traceback.back() == '\n') e.traceback.pop_back();
    }
    PyErr_Clear();
  }
  return e;
}

PyObject* json_loads() { return cached.json_loads; }
PyObject* json_dumps() { return cached.json_dumps; }
PyObject* dumps_json(PyObject* obj) {
  Ref args(PyTuple_Pack(1, obj));
  return args ? PyObject_Call(cached.json_dumps, args.get(), cached.dumps_kwargs) : nullptr;
}
PyObject* pickle_loads() { return cached.pickle_loads; }
PyObject* pickle_dumps() { return cached.pickle_dumps; }

namespace {

struct ThreadGil {
  PyThreadState* state = nullptr;  // this thread's, once it entered
  int depth = 0;                   // Gil scopes open on this thread
  bool python = false;             // a thread Python runs: it holds the GIL whenever it calls us
  bool kept = false;               // holds the GIL with no scope open, until its batch ends
  bool deferred = false;           // a batch-end call is pending for this thread
};
STREAMS_BRIDGE_TLS ThreadGil this_thread;

// Threads blocked in Gil() for the GIL, and threads whose current batch ran
// Python (deferred). Read without the GIL, so relaxed atomics: a stale
// value only costs one handoff more or less.
std::atomic<int> waiting{0};
std::atomic<int> batching{0};

// At the thread's batch end (host_api.defer_to_batch_end), outside any call.
void end_of_batch(void*) {
  ThreadGil& t = this_thread;
  t.deferred = false;
  batching.fetch_sub(1, std::memory_order_relaxed);
  if (t.kept) {
    t.kept = false;
    PyEval_SaveThread();
  }
}

}  // namespace

Gil::Gil() {
  ThreadGil& t = this_thread;
  if (t.depth++ > 0 || t.python) return;  // held already
  if (!t.kept && !t.state && PyGILState_Check()) {
    t.python = true;
    return;
  }
  if (!t.kept) {  // else held since the batch's last scope
    waiting.fetch_add(1, std::memory_order_relaxed);
    if (t.state) {
      PyEval_RestoreThread(t.state);
    } else {
      (void)PyGILState_Ensure();  // its count stays above 0: the state lives on
      t.state = PyThreadState_Get();
    }
    waiting.fetch_sub(1, std::memory_order_relaxed);
  }
  // One relaxed load a scope: an old version goes soon after its last
  // generation, not at the next reload.
  if (unheld.load(std::memory_order_relaxed)) forget_unheld_versions();
}

Gil::Gil(const streams_host_api* host, streams_call* call) : Gil() {
  host_ = host;
  call_ = call;
}

// Whether the outermost scope, ending, may leave the GIL held. GIL held.
bool Gil::keep() {
  ThreadGil& t = this_thread;
  if (!host_ || !t.state || waiting.load(std::memory_order_relaxed) > 0) return false;
  if (!t.deferred) {
    if (!STREAMS_HAS_FIELD(host_, streams_host_api, defer_to_batch_end) ||
        !host_->defer_to_batch_end ||
        host_->defer_to_batch_end(call_, &end_of_batch, nullptr) != STREAMS_OK) {
      return false;
    }
    t.deferred = true;
    batching.fetch_add(1, std::memory_order_relaxed);
  }
  return batching.load(std::memory_order_relaxed) == 1;
}

Gil::~Gil() {
  ThreadGil& t = this_thread;
  if (--t.depth > 0 || t.python) return;
  t.kept = keep();
  if (!t.kept) PyEval_SaveThread();
}

}  // namespace streams::python
