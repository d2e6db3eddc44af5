// The one CPython interpreter of a host process, embedded by the Python
// bridge plugin (python_bridge.cc).
//
// Lifetime: started on first use and never finalized; the bridge pins itself
// and libpython in memory (RTLD_NODELETE), because C extensions such as
// NumPy cannot survive a second initialisation.
// Thread: any thread; every function below but start() needs the GIL (Gil).
#pragma once

#include <Python.h>

#include <streams/plugin_abi.h>

#include <string>
#include <utility>
#include <vector>

namespace streams::python {

// The bridge's thread-locals, read on every call: the initial-exec model
// makes each access one load off the thread pointer instead of a
// __tls_get_addr call (the bridge is dlopen'ed). They take a few dozen
// bytes of glibc's static TLS surplus, which exists for such libraries.
#define STREAMS_BRIDGE_TLS thread_local __attribute__((tls_model("initial-exec")))

// Starts the interpreter unless it runs: Debian's standard library and
// site-packages, no Python signal handlers (the host owns signals), the GIL
// released afterwards. False with *error if it cannot start.
bool start(std::string* error);

// Holds the GIL for its scope; reentrant, from any thread.
//
// A thread's first Gil makes the thread's Python thread state (through
// PyGILState_Ensure, which it never releases) and keeps it for the thread's
// life; later ones only take and drop the GIL with it. PyGILState_Release
// would delete a state it made at every outermost release, so a processing
// thread that Python did not start would make and delete one per record.
// Cost: one Python thread state per thread that ever enters, not freed.
//
// Kept across calls: made with the host and call of a data-plane call
// (process, aggregate), the outermost Gil may leave the GIL held when it
// ends, until the host ends the thread's batch of inputs
// (host_api.defer_to_batch_end, ABI 1.7), which saves the two GIL handoffs of
// every call (half of a Python identity map's cost). It lets go at the end
// of its scope instead while another thread waits in a Gil, or another
// thread's batch runs Python too (threads then take turns per call, as
// without keeping), or the host takes no such request. Python's own threads
// get the GIL during our calls (the interpreter's switch interval) and
// between batches.
class Gil {
 public:
  Gil();
  Gil(const streams_host_api* host, streams_call* call);
  ~Gil();
  Gil(const Gil&) = delete;
  Gil& operator=(const Gil&) = delete;

 private:
  bool keep();

  const streams_host_api* host_ = nullptr;
  streams_call* call_ = nullptr;
};

// An owned reference (null allowed).
class Ref {
 public:
  Ref() = default;
  explicit Ref(PyObject* owned) : p_(owned) {}
  Ref(Ref&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  Ref& operator=(Ref&& o) noexcept {
    if (this != &o) {
      Py_XDECREF(p_);
      p_ = o.p_;
      o.p_ = nullptr;
    }
    return *this;
  }
  Ref(const Ref&) = delete;
  Ref& operator=(const Ref&) = delete;
  ~Ref() { Py_XDECREF(p_); }
  PyObject* get() const { return p_; }
  PyObject* release() {
    PyObject* p = p_;
    p_ = nullptr;
    return p;
  }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  PyObject* p_ = nullptr;
};

// Where modules come from: `path`, the directories of the user's modules,
// first on sys.path, then `lib` (the host's own Python package). `code`: the
// version of the user's modules the host read (a hash of their files).
struct Modules {
  std::vector<std::string> path;
  std::string lib;
  std::string code;
};

// Sets sys.path, and makes `m.code` the version of the user's modules: when
// it is a new one, the modules loaded from `m.path` are forgotten, so the
// next import executes their files anew into fresh module objects. False
// with *error.
bool use_modules(const Modules& m, std::string* error);

// A line to add to an import's `error` when the module it did not find is
// near the name of one there is (a typo), or may be a package of a
// virtualenv the host was not told of, or of one it could not use; else
// empty. GIL held.
std::string import_hint(const std::string& error);

// The files of the user's modules (under `dirs`, as use_modules forgets
// them) now in sys.modules. GIL held.
std::vector<std::string> user_module_files(const std::vector<std::string>& dirs);

// The importable top-level module nearest to `name`, if near enough to be
// a typo of it; else "". GIL held.
std::string nearest_module(const std::string& name);

// What the first use_modules found of $VIRTUAL_ENV (streams/environment.py),
// once: a STREAMS_LOG_* level and the line to log; an empty line after that
// or without one. GIL held.
std::pair<int32_t, std::string> take_environment_note();

// The object a dotted name ("package.module.Class.attr") names: the longest
// prefix that imports as a module, then attributes, imported in version
// `m.code` of the user's modules; objects resolved for earlier versions
// stay as they were while a generation holds their version. Null with *error (the exception's type,
// text and traceback) on failure.
PyObject* resolve(const std::string& name, const Modules& m, std::string* error);
// A generation's hold on version `code` (describe.h, STREAMS_PYTHON_HOLD):
// what it resolved to is kept while held. Any thread; no GIL needed.
void hold_version(const std::string& code, int delta);

// The exception being raised, taken (cleared): its type name, its text, and
// the traceback's last frames as Python prints them.
struct Exception {
  std::string type;
  std::string message;
  std::string traceback;
};
Exception take_exception();

// "Type: text", then the traceback's lines.
std::string describe(const Exception& e);

// Cached functions of the standard library (borrowed; valid once started).
PyObject* json_loads();
PyObject* json_dumps();
// json.dumps(obj) with dates, datetimes and times as isoformat(), as the
// original's Serializer writes them: a new str, or null with an exception.
PyObject* dumps_json(PyObject* obj);
PyObject* pickle_loads();
PyObject* pickle_dumps();

}  // namespace streams::python
