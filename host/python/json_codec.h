// JSON to Python objects and back, as json.loads and json.dumps do with
// their defaults, several times faster (simdjson, and one reused buffer
// out). Anything these do not cover exactly (big integers, NaN literals,
// lone surrogates, objects json.dumps would call `default` on, cycles) is
// left to the json module, so the results are always json's.
// Thread: GIL held. One JsonCodec per bridge instance.
#pragma once

#include <Python.h>
#include <simdjson.h>

#include <string>

namespace streams::python {

class JsonCodec {
 public:
  // json.loads(text) (new reference); null with an exception set.
  PyObject* loads(const char* data, size_t size);

  // Appends json.dumps(obj) to *out. False (and *out as it was, no
  // exception set) if obj holds something only the json module handles.
  bool dumps(PyObject* obj, std::string* out);

 private:
  PyObject* convert(simdjson::dom::element e);
  bool encode(PyObject* obj, std::string* out, int depth);

  simdjson::dom::parser parser_;
  std::string padded_;
};

}  // namespace streams::python
