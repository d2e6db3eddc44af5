#include "python/json_codec.h"

#include <cstdio>

#include "python/interpreter.h"

namespace streams::python {
namespace {

constexpr int kMaxDepth = 256;  // json.dumps raises on cycles; deeper goes to it

void append_escaped(const char* s, Py_ssize_t n, std::string* out) {
  // UTF-8 in, ensure_ascii out: what is not printable ASCII becomes \uXXXX.
  static const char hex[] = "0123456789abcdef";
  auto u = [&](unsigned v) {
    char b[6] = {'\\',       'u', hex[(v >> 12) & 15], hex[(v >> 8) & 15], hex[(v >> 4) & 15],
                 hex[v & 15]};
    out->append(b, 6);
  };
  out->push_back('"');
  for (Py_ssize_t i = 0; i < n;) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out->push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        ++i;
        continue;
      case '\\':
        out->append("\\\\");
        ++i;
        continue;
      case '\n':
        out->append("\\n");
        ++i;
        continue;
      case '\r':
        out->append("\\r");
        ++i;
        continue;
      case '\t':
        out->append("\\t");
        ++i;
        continue;
      case '\b':
        out->append("\\b");
        ++i;
        continue;
      case '\f':
        out->append("\\f");
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x80) {
      u(c);
      ++i;
      continue;
    }
    // A UTF-8 sequence (valid: it came from PyUnicode_AsUTF8AndSize).
    unsigned cp = 0;
    int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    cp = c & (len == 4 ? 0x07 : len == 3 ? 0x0f : 0x1f);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      u(0xd800 + (cp >> 10));
      u(0xdc00 + (cp & 0x3ff));
    } else {
      u(cp);
    }
  }
  out->push_back('"');
}

bool append_str(PyObject* s, std::string* out) {
  Py_ssize_t n = 0;
  const char* data = PyUnicode_AsUTF8AndSize(s, &n);
  if (!data) {  // lone surrogates: the json module's
    PyErr_Clear();
    return false;
  }
  append_escaped(data, n, out);
  return true;
}

bool append_float(PyObject* f, std::string* out) {
  const double v = PyFloat_AS_DOUBLE(f);
  if (v != v) return out->append("NaN"), true;
  if (v == Py_HUGE_VAL) return out->append("Infinity"), true;
  if (v == -Py_HUGE_VAL) return out->append("-Infinity"), true;
  char* text = PyOS_double_to_string(v, 'r', 0, Py_DTSF_ADD_DOT_0, nullptr);
  if (!text) {
    PyErr_Clear();
    return false;
  }
  out->append(text);
  PyMem_Free(text);
  return true;
}

bool append_int(PyObject* i, std::string* out) {
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(i, &overflow);
  if (overflow || (v == -1 && PyErr_Occurred())) {
    PyErr_Clear();
    return false;  // json writes big ones with int.__repr__: leave them to it
  }
  char b[24];
  out->append(b, static_cast<size_t>(std::snprintf(b, sizeof b, "%lld", v)));
  return true;
}

}  // namespace

PyObject* JsonCodec::loads(const char* data, size_t size) {
  padded_.assign(data, size);
  padded_.resize(size + simdjson::SIMDJSON_PADDING);
  simdjson::dom::element root;
  if (parser_.parse(padded_.data(), size, false).get(root) == simdjson::SUCCESS) {
    if (PyObject* value = convert(root)) return value;
    if (PyErr_Occurred()) return nullptr;
  }
  // What simdjson refuses (NaN, big integers, lone surrogates, bad JSON):
  // json.loads decides, and names the error as Python users know it.
  Ref text(PyBytes_FromStringAndSize(data, static_cast<Py_ssize_t>(size)));
  return text ? PyObject_CallOneArg(json_loads(), text.get()) : nullptr;
}

// Null without an exception: not representable here (a big integer).
PyObject* JsonCodec::convert(simdjson::dom::element e) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::OBJECT: {
      Ref dict(PyDict_New());
      if (!dict) return nullptr;
      for (auto field : simdjson::dom::object(e)) {
        Ref key(PyUnicode_DecodeUTF8(field.key.data(), static_cast<Py_ssize_t>(field.key.size()),
                                     nullptr));
        Ref value(key ? convert(field.value) : nullptr);
        if (!value || PyDict_SetItem(dict.get(), key.get(), value.get()) != 0) return nullptr;
      }
      return dict.release();
    }
    case element_type::ARRAY: {
      simdjson::dom::array array(e);
      Ref list(PyList_New(static_cast<Py_ssize_t>(array.size())));
      Py_ssize_t i = 0;
      for (auto item : array) {
        PyObject* value = list ? convert(item) : nullptr;
        if (!value) return nullptr;
        PyList_SET_ITEM(list.get(), i++, value);
      }
      return list.release();
    }
    case element_type::STRING: {
      std::string_view s(e);
      return PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), nullptr);
    }
    case element_type::INT64:
      return PyLong_FromLongLong(int64_t(e));
    case element_type::UINT64:
      return PyLong_FromUnsignedLongLong(uint64_t(e));
    case element_type::DOUBLE:
      return PyFloat_FromDouble(double(e));
    case element_type::BOOL:
      return Py_NewRef(bool(e) ? Py_True : Py_False);
    case element_type::NULL_VALUE:
      return Py_NewRef(Py_None);
  }
  return nullptr;
}

bool JsonCodec::dumps(PyObject* obj, std::string* out) {
  const size_t start = out->size();
  if (encode(obj, out, 0)) return true;
  out->resize(start);
  return false;
}

bool JsonCodec::encode(PyObject* obj, std::string* out, int depth) {
  if (depth > kMaxDepth) return false;
  if (PyUnicode_Check(obj)) return append_str(obj, out);
  if (obj == Py_None) return out->append("null"), true;
  if (obj == Py_True) return out->append("true"), true;
  if (obj == Py_False) return out->append("false"), true;
  if (PyLong_CheckExact(obj)) return append_int(obj, out);
  if (PyFloat_CheckExact(obj)) return append_float(obj, out);
  if (PyList_Check(obj) || PyTuple_Check(obj)) {
    const bool list = PyList_Check(obj);
    out->push_back('[');
    for (Py_ssize_t i = 0; i < (list ? PyList_GET_SIZE(obj) : PyTuple_GET_SIZE(obj)); ++i) {
      if (i) out->append(", ");
      PyObject* item = list ? PyList_GET_ITEM(obj, i) : PyTuple_GET_ITEM(obj, i);
      Py_INCREF(item);  // a list may change under us only by our own code: none runs here
      const bool ok = encode(item, out, depth + 1);
      Py_DECREF(item);
      if (!ok) return false;
    }
    out->push_back(']');
    return true;
  }
  if (PyDict_Check(obj)) {
    out->push_back('{');
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    bool first = true;
    while (PyDict_Next(obj, &pos, &key, &value)) {
      if (!first) out->append(", ");
      first = false;
      if (PyUnicode_Check(key)) {
        if (!append_str(key, out)) return false;
      } else {
        return false;  // int, float, bool and None keys: the json module's rules
      }
      out->append(": ");
      if (!encode(value, out, depth + 1)) return false;
    }
    out->push_back('}');
    return true;
  }
  return false;  // subclasses of int and float, custom objects: json.dumps
}

}  // namespace streams::python
