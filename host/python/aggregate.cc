// The bridge's aggregate function (reduce steps): the original's
// Accumulator objects, kept by the host as their pickles between records,
// so window state belongs to the host.
#include <cstring>

#include "python/bridge.h"

namespace streams::python {
namespace {

// The accumulator object whose pickle is `acc` (new reference), reusing the
// one pickled last when the bytes are the same. Null with an exception set.
PyObject* accumulator(Instance* inst, streams_bytes acc) {
  if (inst->last_acc_bytes &&
      static_cast<size_t>(PyBytes_GET_SIZE(inst->last_acc_bytes.get())) == acc.size &&
      std::memcmp(PyBytes_AS_STRING(inst->last_acc_bytes.get()), acc.data, acc.size) == 0) {
    return Py_NewRef(inst->last_acc.get());
  }
  Ref view(PyMemoryView_FromMemory(const_cast<char*>(reinterpret_cast<const char*>(acc.data)),
                                   static_cast<Py_ssize_t>(acc.size), PyBUF_READ));
  return view ? PyObject_CallOneArg(pickle_loads(), view.get()) : nullptr;
}

// Hands `obj` (the call's accumulator) to the host as its pickle.
int32_t keep_accumulator(Instance* inst, PyObject* obj, streams_call* call) {
  Ref bytes(PyObject_CallOneArg(pickle_dumps(), obj));
  if (!bytes || !PyBytes_Check(bytes.get())) {
    inst->last_acc = Ref();
    inst->last_acc_bytes = Ref();
    return fail(inst, call, "the accumulator cannot be pickled");
  }
  const int32_t status = inst->host->set_accumulator(
      call, reinterpret_cast<const uint8_t*>(PyBytes_AS_STRING(bytes.get())),
      static_cast<size_t>(PyBytes_GET_SIZE(bytes.get())));
  inst->last_acc = Ref(Py_NewRef(obj));
  inst->last_acc_bytes = std::move(bytes);
  return status;
}

int32_t forget_and_fail(Instance* inst, streams_call* call) {
  inst->last_acc = Ref();
  inst->last_acc_bytes = Ref();
  return fail(inst, call);
}

}  // namespace

int32_t aggregate_init(void* p, streams_call* call) {
  auto* inst = static_cast<Instance*>(p);
  Gil gil(inst->host, call);
  Ref obj(PyObject_CallNoArgs(inst->fn.get()));
  if (!obj) return forget_and_fail(inst, call);
  return keep_accumulator(inst, obj.get(), call);
}

int32_t aggregate_add(void* p, streams_bytes acc, const streams_record* input, streams_call* call) {
  auto* inst = static_cast<Instance*>(p);
  Gil gil(inst->host, call);
  Ref obj(accumulator(inst, acc));
  if (!obj) return forget_and_fail(inst, call);
  Ref add(PyObject_GetAttrString(obj.get(), "add"));
  Ref result(add ? call_with(inst, add.get(), input, call) : nullptr);
  if (!result) return forget_and_fail(inst, call);
  return keep_accumulator(inst, result.get() == Py_None ? obj.get() : result.get(), call);
}

int32_t aggregate_merge(void* p, streams_bytes first, streams_bytes second, streams_call* call) {
  auto* inst = static_cast<Instance*>(p);
  Gil gil(inst->host, call);
  Ref a(accumulator(inst, first));
  Ref b(a ? accumulator(inst, second) : nullptr);
  Ref result(b ? PyObject_CallMethod(a.get(), "merge", "O", b.get()) : nullptr);
  if (!result) return forget_and_fail(inst, call);
  return keep_accumulator(inst, result.get() == Py_None ? a.get() : result.get(), call);
}

int32_t aggregate_result(void* p, streams_bytes acc, const streams_record* /*window*/,
                         streams_call* call) {
  auto* inst = static_cast<Instance*>(p);
  inst->outs.clear();
  inst->encoded.clear();
  {
    Gil gil(inst->host, call);
    inst->release_held();
    Ref obj(accumulator(inst, acc));
    Ref value(obj ? PyObject_CallMethod(obj.get(), "get_value", nullptr) : nullptr);
    Instance::Out out;
    if (!value || !to_bytes(inst, value.get(), &out)) return forget_and_fail(inst, call);
    inst->outs.push_back(out);
  }
  return emit_all(inst, call);
}

}  // namespace streams::python
