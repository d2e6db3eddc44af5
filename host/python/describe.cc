// The bridge's entry points for the host's control plane: runs a Python
// pipeline file and describes the pipeline it defines as the text of a YAML
// pipeline file (streams/pipeline/describe.py); says which files a YAML
// pipeline's Python names load.
#include <cstring>
#include <string>
#include <vector>

#include "python/describe.h"
#include "python/interpreter.h"
#include "python/state_module.h"

namespace streams::python {
namespace {

constexpr const char* kModule = "__streams_pipeline__";

void say(const DescribeSink& sink, int kind, const std::string& text) {
  sink.write(sink.ctx, kind, text.data(), text.size());
}

// Executes `file` as module kModule (registered in sys.modules, so that
// pickle finds the classes it defines). New reference, or null with *error.
PyObject* run_file(const std::string& file, std::string* error) {
  Ref util(PyImport_ImportModule("importlib.util"));
  Ref spec(
      util ? PyObject_CallMethod(util.get(), "spec_from_file_location", "ss", kModule, file.c_str())
           : nullptr);
  if (spec && spec.get() == Py_None) {
    *error = "cannot load " + file + " as a Python module";
    return nullptr;
  }
  Ref module(spec ? PyObject_CallMethod(util.get(), "module_from_spec", "O", spec.get()) : nullptr);
  PyObject* modules = PyImport_GetModuleDict();  // borrowed
  Ref loader(spec ? PyObject_GetAttrString(spec.get(), "loader") : nullptr);
  if (module && loader && PyDict_SetItemString(modules, kModule, module.get()) == 0) {
    Ref done(PyObject_CallMethod(loader.get(), "exec_module", "O", module.get()));
    if (done) return module.release();
  }
  *error = describe(take_exception());
  *error += import_hint(*error);
  if (PyDict_GetItemString(modules, kModule)) PyDict_DelItemString(modules, kModule);
  PyErr_Clear();
  return nullptr;
}

// The user's modules of a request (dirs, lib, code) in use; false (said)
// if they cannot be.
template <class Request>
bool use_request_modules(const Request& request, const DescribeSink& sink, Modules* modules) {
  modules->path.assign(request.dirs, request.dirs + request.dir_count);
  modules->lib = request.lib;
  modules->code = request.code;
  std::string error;
  if (use_modules(*modules, &error)) return true;
  say(sink, kDescribeError, error);
  return false;
}

// `locked(request, sink)` with Python started and the GIL held.
template <class Request>
int with_python(const Request& request, const DescribeSink& sink,
                int (*locked)(const Request&, const DescribeSink&)) {
  std::string error;
  if (!start(&error)) {
    say(sink, kDescribeError, error);
    return 1;
  }
  Gil gil;
  return locked(request, sink);
}

int describe_locked(const DescribeRequest& request, const DescribeSink& sink) {
  Modules modules;
  if (!use_request_modules(request, sink, &modules)) return 1;
  std::string error;
  Ref module(run_file(request.file, &error));
  if (!module) {
    say(sink, kDescribeError, error);
    return 1;
  }
  Ref pipeline(PyObject_GetAttrString(module.get(), "pipeline"));
  if (!pipeline) {
    PyErr_Clear();
    say(sink, kDescribeError,
        "it defines no global `pipeline` (pipeline = streaming_source(...)...)");
    return 1;
  }
  Ref describer(PyImport_ImportModule("streams.pipeline.describe"));
  Ref result(describer ? PyObject_CallMethod(describer.get(), "describe", "OOss", pipeline.get(),
                                             module.get(), kModule, request.schemas_dir)
                       : nullptr);
  PyObject *text = nullptr, *warnings = nullptr;
  if (!result || !PyArg_ParseTuple(result.get(), "UO", &text, &warnings)) {
    // describe.py refuses what it cannot describe with a ValueError or a
    // TypeError that names the step and its line: its own frames are noise.
    const bool refusal =
        PyErr_ExceptionMatches(PyExc_ValueError) || PyErr_ExceptionMatches(PyExc_TypeError);
    const Exception e = take_exception();
    say(sink, kDescribeError, refusal ? e.type + ": " + e.message : describe(e));
    return 1;
  }
  Ref items(PySequence_Fast(warnings, "warnings"));
  for (Py_ssize_t i = 0; items && i < PySequence_Fast_GET_SIZE(items.get()); ++i) {
    const char* w = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(items.get(), i));
    if (w) say(sink, kDescribeWarning, w);
  }
  PyErr_Clear();
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text, &size);
  if (!data) {
    say(sink, kDescribeError, describe(take_exception()));
    return 1;
  }
  sink.write(sink.ctx, kDescribeText, data, static_cast<size_t>(size));
  // The pipeline file's own module has its path as given as __file__.
  for (const std::string& file :
       user_module_files({request.dirs, request.dirs + request.dir_count})) {
    if (file != request.file) say(sink, kDescribeModule, file);
  }
  return 0;
}

int import_locked(const ImportRequest& request, const DescribeSink& sink) {
  Modules modules;
  if (!use_request_modules(request, sink, &modules)) return 1;
  std::string error;
  int failed = 0;
  for (size_t i = 0; i < request.name_count; ++i) {
    Ref object(resolve(request.names[i], modules, &error));
    if (!object) {
      say(sink, kDescribeError, std::string(request.names[i]) + ": " + error);
      failed = 1;
    }
  }
  for (const std::string& file : user_module_files(modules.path)) say(sink, kDescribeModule, file);
  return failed;
}

}  // namespace
}  // namespace streams::python

extern "C" __attribute__((visibility("default"))) int STREAMS_PYTHON_IMPORT(
    const streams::python::ImportRequest* request, const streams::python::DescribeSink* sink) {
  return streams::python::with_python(*request, *sink, &streams::python::import_locked);
}

extern "C" __attribute__((visibility("default"))) int STREAMS_PYTHON_DESCRIBE(
    const streams::python::DescribeRequest* request, const streams::python::DescribeSink* sink) {
  return streams::python::with_python(*request, *sink, &streams::python::describe_locked);
}

extern "C" __attribute__((visibility("default"))) size_t STREAMS_PYTHON_JSON_ERROR(
    const char* text, size_t size, char* out, size_t out_size) {
  using namespace streams::python;
  std::string error;
  if (out_size == 0 || !start(&error)) return 0;
  Gil gil;
  Ref bytes(PyBytes_FromStringAndSize(text, static_cast<Py_ssize_t>(size)));
  Ref value(bytes ? PyObject_CallOneArg(json_loads(), bytes.get()) : nullptr);
  if (value) return 0;
  const Exception e = take_exception();
  const std::string said = e.type + ": " + e.message;
  const size_t n = said.size() < out_size - 1 ? said.size() : out_size - 1;
  std::memcpy(out, said.data(), n);
  out[n] = '\0';
  return n;
}

extern "C" __attribute__((visibility("default"))) void STREAMS_PYTHON_SET_LOG(
    streams::python::LogWriteFn write, streams::python::LogLevelFn level) {
  streams::python::set_host_log(write, level);
}

extern "C" __attribute__((visibility("default"))) void STREAMS_PYTHON_LOG_LEVEL(int32_t level) {
  using namespace streams::python;
  if (!Py_IsInitialized()) return;  // it takes the host's level when it starts
  Gil gil;
  Ref logging(PyImport_ImportModule("streams.host_logging"));
  if (!logging || !Ref(PyObject_CallMethod(logging.get(), "set_level", "i", level))) PyErr_Clear();
}

extern "C" __attribute__((visibility("default"))) void STREAMS_PYTHON_HOLD(const char* code,
                                                                           size_t size, int delta) {
  streams::python::hold_version(std::string(code, size), delta);
}
