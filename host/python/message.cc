#include "python/message.h"

#include <cstring>

#include "python/interpreter.h"
#include "python/json_codec.h"

namespace streams::python {
namespace {

struct MessageObject {
  PyObject_HEAD const streams_record* record;  // null once detached
  const streams_host_api* host;
  streams_call* call;  // null once detached: then partition and offset below
  int32_t partition;
  int64_t offset;
  int64_t timestamp_ms;  // once detached
  Payload payload_kind;
  JsonCodec* codec;  // json payloads; not used once detached
  PyObject* schema;
  PyObject* topic;  // built on first access
  // Built on first access (or by detach); null until then.
  PyObject* payload;
  PyObject* headers;
  PyObject* key;
};

PyObject* bytes_or_none(streams_bytes b) {
  if (!b.data) Py_RETURN_NONE;
  return PyBytes_FromStringAndSize(reinterpret_cast<const char*>(b.data),
                                   static_cast<Py_ssize_t>(b.size));
}

STREAMS_BRIDGE_TLS Handoff current_handoff;  // plain data: no destructor

uint64_t big_endian(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// The values of a msgpack array of binary (or string) items as a list of
// (bytes, schema) tuples; null with ValueError set if it is not one.
PyObject* batch_items(const uint8_t* p, size_t size, PyObject* schema) {
  const uint8_t* end = p + size;
  auto fail = [] {
    PyErr_SetString(PyExc_ValueError, "the batch is not a msgpack array of binary values");
    return nullptr;
  };
  if (p == end) return fail();
  uint64_t count = 0;
  if ((*p & 0xf0) == 0x90) {
    count = *p++ & 0x0f;
  } else if ((*p == 0xdc && end - p >= 3) || (*p == 0xdd && end - p >= 5)) {
    const int n = *p == 0xdc ? 2 : 4;
    count = big_endian(p + 1, n);
    p += 1 + n;
  } else {
    return fail();
  }
  if (count > static_cast<uint64_t>(end - p)) return fail();  // each item takes a byte or more
  Ref list(PyList_New(static_cast<Py_ssize_t>(count)));
  for (uint64_t i = 0; list && i < count; ++i) {
    if (p == end) return fail();
    const uint8_t tag = *p++;
    int n = 0;
    uint64_t len = 0;
    if ((tag & 0xe0) == 0xa0) {
      len = tag & 0x1f;
    } else if (tag == 0xc4 || tag == 0xd9) {
      n = 1;
    } else if (tag == 0xc5 || tag == 0xda) {
      n = 2;
    } else if (tag == 0xc6 || tag == 0xdb) {
      n = 4;
    } else {
      return fail();
    }
    if (end - p < n) return fail();
    if (n) len = big_endian(p, n);
    p += n;
    if (len > static_cast<uint64_t>(end - p)) return fail();
    Ref value(
        PyBytes_FromStringAndSize(reinterpret_cast<const char*>(p), static_cast<Py_ssize_t>(len)));
    p += len;
    PyObject* pair = value ? PyTuple_Pack(2, value.get(), schema) : nullptr;
    if (!pair) return nullptr;
    PyList_SET_ITEM(list.get(), static_cast<Py_ssize_t>(i), pair);
  }
  return list.release();
}

// A parsed payload a filter or route kept, for the Python step after it,
// which gets the same record (strong references; GIL held).
struct Passed {
  const uint8_t* data = nullptr;
  size_t size = 0;
  PyObject* raw = nullptr;  // the bytes it was parsed from
  PyObject* object = nullptr;
};
STREAMS_BRIDGE_TLS Passed passed;  // plain data: no destructor

void clear_passed() {
  Py_CLEAR(passed.raw);
  Py_CLEAR(passed.object);
  passed.data = nullptr;
}

// The parse `passed` holds if `v` is the record it was made from (same
// place, same bytes: a buffer reused for another record with other bytes
// does not match), taken out of the slot; else null.
PyObject* take_passed(streams_bytes v) {
  if (!passed.object || passed.data != v.data || passed.size != v.size ||
      std::memcmp(PyBytes_AS_STRING(passed.raw), v.data, v.size) != 0) {
    return nullptr;
  }
  PyObject* object = passed.object;
  passed.object = nullptr;
  clear_passed();
  return object;
}

PyObject* make_payload(MessageObject* m) {
  if (!m->record) Py_RETURN_NONE;
  const Handoff& h = current_handoff;
  if (h.object && h.data == m->record->value.data && h.size == m->record->value.size) {
    return Py_NewRef(h.object);
  }
  const streams_bytes v = m->record->value;
  if (m->payload_kind == Payload::batch && v.data) return batch_items(v.data, v.size, m->schema);
  if (m->payload_kind == Payload::json && v.data) {
    if (PyObject* object = take_passed(v)) return object;
    return m->codec->loads(reinterpret_cast<const char*>(v.data), v.size);
  }
  return bytes_or_none(v);
}

PyObject* make_headers(MessageObject* m) {
  if (!m->record) return PyList_New(0);
  const size_t n = m->record->header_count;
  Ref list(PyList_New(static_cast<Py_ssize_t>(n)));
  if (!list) return nullptr;
  for (size_t i = 0; i < n; ++i) {
    const streams_header& h = m->record->headers[i];
    Ref name(PyUnicode_DecodeUTF8(reinterpret_cast<const char*>(h.name.data),
                                  static_cast<Py_ssize_t>(h.name.size), "surrogateescape"));
    Ref value(bytes_or_none(h.value));
    if (!name || !value) return nullptr;
    PyObject* pair = PyTuple_Pack(2, name.get(), value.get());
    if (!pair) return nullptr;
    PyList_SET_ITEM(list.get(), static_cast<Py_ssize_t>(i), pair);
  }
  return list.release();
}

PyObject* make_key(MessageObject* m) {
  if (!m->record) Py_RETURN_NONE;
  return bytes_or_none(m->record->key);
}

// Returns the cached attribute, building it first if needed.
PyObject* cached(PyObject** slot, MessageObject* m, PyObject* (*make)(MessageObject*)) {
  if (!*slot) *slot = make(m);
  Py_XINCREF(*slot);
  return *slot;
}

PyObject* get_payload(PyObject* self, void*) {
  auto* m = reinterpret_cast<MessageObject*>(self);
  return cached(&m->payload, m, make_payload);
}
PyObject* get_headers(PyObject* self, void*) {
  auto* m = reinterpret_cast<MessageObject*>(self);
  return cached(&m->headers, m, make_headers);
}
PyObject* get_key(PyObject* self, void*) {
  auto* m = reinterpret_cast<MessageObject*>(self);
  return cached(&m->key, m, make_key);
}
PyObject* get_timestamp(PyObject* self, void*) {
  auto* m = reinterpret_cast<MessageObject*>(self);
  const int64_t ms = m->record ? m->record->timestamp_ms : m->timestamp_ms;
  if (ms < 0) Py_RETURN_NONE;
  return PyFloat_FromDouble(static_cast<double>(ms) / 1000.0);
}
const streams_origin* origin(MessageObject* m) {
  return m->call ? m->host->origin(m->call) : nullptr;
}
PyObject* make_topic(MessageObject* m) {
  const streams_origin* o = origin(m);
  if (!o) Py_RETURN_NONE;
  return PyUnicode_DecodeUTF8(o->topic, static_cast<Py_ssize_t>(std::strlen(o->topic)),
                              "surrogateescape");
}
PyObject* get_topic(PyObject* self, void*) {
  auto* m = reinterpret_cast<MessageObject*>(self);
  return cached(&m->topic, m, make_topic);
}
PyObject* get_partition(PyObject* self, void*) {
  auto* m = reinterpret_cast<MessageObject*>(self);
  const streams_origin* o = origin(m);
  return PyLong_FromLong(o ? o->partition : m->partition);
}
PyObject* get_offset(PyObject* self, void*) {
  auto* m = reinterpret_cast<MessageObject*>(self);
  const streams_origin* o = origin(m);
  return PyLong_FromLongLong(o ? o->offset : m->offset);
}
PyObject* get_schema(PyObject* self, void*) {
  auto* m = reinterpret_cast<MessageObject*>(self);
  Py_INCREF(m->schema);
  return m->schema;
}

PyGetSetDef getset[] = {
    {"payload", get_payload, nullptr, "the value: bytes, or the parsed JSON after a parser",
     nullptr},
    {"headers", get_headers, nullptr, "list of (name: str, value: bytes)", nullptr},
    {"timestamp", get_timestamp, nullptr, "seconds since the epoch (float), or None", nullptr},
    {"schema", get_schema, nullptr, "the source stream's name", nullptr},
    {"key", get_key, nullptr, "the Kafka key: bytes, or None", nullptr},
    {"topic", get_topic, nullptr, "the topic the input was read from", nullptr},
    {"partition", get_partition, nullptr, "its partition (-1 if none)", nullptr},
    {"offset", get_offset, nullptr, "its offset (-1 if none)", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

// The message as a streams.pipeline.message.Message of the same fields
// (payload and headers shared), which outlives the call; null with an
// exception.
PyObject* as_python_message(PyObject* self) {
  auto* m = reinterpret_cast<MessageObject*>(self);
  Ref payload(get_payload(self, nullptr)), headers(get_headers(self, nullptr));
  Ref timestamp(get_timestamp(self, nullptr)), key(get_key(self, nullptr));
  Ref topic(get_topic(self, nullptr)), partition(get_partition(self, nullptr));
  Ref offset(get_offset(self, nullptr));
  if (!payload || !headers || !timestamp || !key || !topic || !partition || !offset) {
    return nullptr;
  }
  Ref module(PyImport_ImportModule("streams.pipeline.message"));
  Ref cls(module ? PyObject_GetAttrString(module.get(), "Message") : nullptr);
  return cls ? PyObject_CallFunctionObjArgs(cls.get(), payload.get(), headers.get(),
                                            timestamp.get(), m->schema, key.get(), topic.get(),
                                            partition.get(), offset.get(), nullptr)
             : nullptr;
}

// size(): the payload's length when it is bytes or text, else None (as the
// original's messages answer).
PyObject* size(PyObject* self, PyObject*) {
  Ref payload(get_payload(self, nullptr));
  if (!payload) return nullptr;
  if (!PyBytes_Check(payload.get()) && !PyUnicode_Check(payload.get())) Py_RETURN_NONE;
  const Py_ssize_t n = PyObject_Length(payload.get());
  return n < 0 ? nullptr : PyLong_FromSsize_t(n);
}

// deepcopy(), copy.deepcopy(): the Python Message's deepcopy(), which
// decides what is copied.
PyObject* deep_copy(PyObject* self, PyObject*) {
  Ref shared(as_python_message(self));
  return shared ? PyObject_CallMethod(shared.get(), "deepcopy", nullptr) : nullptr;
}

// Pickled (an accumulator or state value that keeps messages) as the
// Python Message is: rebuilt as one.
PyObject* reduce(PyObject* self, PyObject*) {
  Ref shared(as_python_message(self));
  return shared ? PyObject_CallMethod(shared.get(), "__reduce__", nullptr) : nullptr;
}

PyMethodDef methods[] = {
    {"size", size, METH_NOARGS, "the payload's length when it is bytes or text, else None"},
    {"deepcopy", deep_copy, METH_NOARGS, "a copy (streams.pipeline.message.Message)"},
    {"__deepcopy__", deep_copy, METH_O, nullptr},
    {"__copy__", deep_copy, METH_NOARGS, nullptr},
    {"__reduce__", reduce, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr}};

void clear_fields(MessageObject* m) {
  Py_CLEAR(m->payload);
  Py_CLEAR(m->headers);
  Py_CLEAR(m->key);
  Py_CLEAR(m->topic);
}

void dealloc(PyObject* self) {
  auto* m = reinterpret_cast<MessageObject*>(self);
  clear_fields(m);
  Py_CLEAR(m->schema);
  PyTypeObject* type = Py_TYPE(self);
  type->tp_free(self);
  Py_DECREF(type);
}

PyObject* repr(PyObject* self) {
  auto* m = reinterpret_cast<MessageObject*>(self);
  Ref payload(get_payload(self, nullptr));
  if (!payload) return nullptr;
  Ref ts(get_timestamp(self, nullptr));
  return PyUnicode_FromFormat("Message(payload=%R, timestamp=%R, schema=%R)", payload.get(),
                              ts.get(), m->schema);
}

PyType_Slot slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(dealloc)},
    {Py_tp_repr, reinterpret_cast<void*>(repr)},
    {Py_tp_getset, getset},
    {Py_tp_methods, methods},
    {Py_tp_doc, const_cast<char*>("A record handed to a Python transform by the streams host.")},
    {0, nullptr}};
PyType_Spec spec = {"streams.Message", sizeof(MessageObject), 0, Py_TPFLAGS_DEFAULT, slots};
PyTypeObject* message_type = nullptr;  // a heap type: every instance holds a reference

}  // namespace

Handoff& handoff() { return current_handoff; }

bool init_message_type() {
  message_type = reinterpret_cast<PyTypeObject*>(PyType_FromSpec(&spec));
  return message_type != nullptr;
}

PyObject* new_message(const streams_record* record, const streams_host_api* host,
                      streams_call* call, Payload payload, JsonCodec* codec, PyObject* schema) {
  auto* m = PyObject_New(MessageObject, message_type);
  if (!m) return nullptr;
  m->record = record;
  m->host = host;
  m->call = call;
  m->partition = -1;
  m->offset = -1;
  m->timestamp_ms = -1;
  m->topic = nullptr;
  m->payload_kind = payload;
  m->codec = codec;
  Py_INCREF(schema);
  m->schema = schema;
  m->payload = m->headers = m->key = nullptr;
  return reinterpret_cast<PyObject*>(m);
}

void pass_on(PyObject* message) {
  auto* m = reinterpret_cast<MessageObject*>(message);
  if (m->payload_kind != Payload::json || !m->record || !m->payload) return;
  const streams_bytes v = m->record->value;
  if (!v.data) return;
  // A copy of the bytes, to tell this record from a later one in the same
  // buffer: made here, for filters and routes, not for every parse.
  PyObject* raw = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(v.data),
                                            static_cast<Py_ssize_t>(v.size));
  if (!raw) return PyErr_Clear();
  clear_passed();
  passed = {v.data, v.size, raw, Py_NewRef(m->payload)};
}

void rebind_message(PyObject* message, const streams_record* record, streams_call* call) {
  auto* m = reinterpret_cast<MessageObject*>(message);
  m->record = record;
  m->call = call;
}

bool detach_message(PyObject* message) {
  auto* m = reinterpret_cast<MessageObject*>(message);
  if (Py_REFCNT(message) == 1) {
    clear_fields(m);
    m->record = nullptr;
    m->call = nullptr;
    return true;
  }
  if (const streams_origin* o = origin(m)) {
    m->partition = o->partition;
    m->offset = o->offset;
  }
  // Kept by the function: build every attribute now, then forget the view.
  bool ok = true;
  for (auto [slot, make] :
       {std::pair{&m->payload, make_payload}, std::pair{&m->headers, make_headers},
        std::pair{&m->key, make_key}, std::pair{&m->topic, make_topic}}) {
    if (!*slot && !(*slot = make(m))) ok = false;
  }
  if (!ok) PyErr_Clear();
  m->timestamp_ms = m->record ? m->record->timestamp_ms : -1;
  m->record = nullptr;
  m->call = nullptr;
  return false;
}

}  // namespace streams::python
