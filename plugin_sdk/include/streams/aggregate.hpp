// The aggregate adapter of a reduce step (ABI 1.2): streams::aggregate<T>.
// Part of plugin.hpp, which includes it; include plugin.hpp, not this.
#ifndef STREAMS_AGGREGATE_HPP
#define STREAMS_AGGREGATE_HPP

#include <streams/plugin.hpp>

namespace streams {
namespace detail {

// Accumulators cross the ABI as bytes: a trivially copyable Acc as its object
// representation, a std::string as itself.
template <class Acc>
bool decode(streams_bytes bytes, Acc& acc) {
  if constexpr (std::is_same_v<Acc, std::string>) {
    acc.assign(to_view(bytes));
    return true;
  } else {
    static_assert(std::is_trivially_copyable_v<Acc>,
                  "Acc must be trivially copyable or std::string");
    if (bytes.size != sizeof(Acc)) return false;
    std::memcpy(&acc, bytes.data, sizeof(Acc));
    return true;
  }
}

template <class Acc>
int32_t store(const streams_host_api* host, streams_call* call, const Acc& acc) {
  if constexpr (std::is_same_v<Acc, std::string>) {
    return host->set_accumulator(call, reinterpret_cast<const uint8_t*>(acc.data()), acc.size());
  } else {
    return host->set_accumulator(call, reinterpret_cast<const uint8_t*>(&acc), sizeof(Acc));
  }
}

// An aggregate instance keeps two scratch accumulators, reused across calls.
template <class T>
struct AggregateInstance : Instance<T> {
  using Instance<T>::Instance;
  typename T::Acc a{}, b{};
};

template <class T>
Status decode_or_fail(Output& out, streams_bytes bytes, typename T::Acc& acc) {
  if (decode(bytes, acc)) return Status::ok;
  return out.fail(ErrorKind::processing, "accumulator has the wrong size");
}

template <class T>
int32_t agg_init(void* instance, streams_call* call) noexcept {
  auto* self = static_cast<AggregateInstance<T>*>(instance);
  Output out(self->host, call);
  return guarded(out, [&] {
    self->a = typename T::Acc{};
    self->function.init(self->a);
    return static_cast<Status>(store(self->host, call, self->a));
  });
}

template <class T>
int32_t agg_add(void* instance, streams_bytes acc, const streams_record* input,
                streams_call* call) noexcept {
  auto* self = static_cast<AggregateInstance<T>*>(instance);
  Output out(self->host, call);
  return guarded(out, [&] {
    Status s = decode_or_fail<T>(out, acc, self->a);
    if (s == Status::ok) s = self->function.add(self->a, Record(*input));
    return s == Status::ok ? static_cast<Status>(store(self->host, call, self->a)) : s;
  });
}

template <class T>
int32_t agg_merge(void* instance, streams_bytes first, streams_bytes second,
                  streams_call* call) noexcept {
  auto* self = static_cast<AggregateInstance<T>*>(instance);
  Output out(self->host, call);
  return guarded(out, [&] {
    Status s = decode_or_fail<T>(out, first, self->a);
    if (s == Status::ok) s = decode_or_fail<T>(out, second, self->b);
    if (s != Status::ok) return s;
    self->function.merge(self->a, self->b);
    return static_cast<Status>(store(self->host, call, self->a));
  });
}

template <class T>
int32_t agg_result(void* instance, streams_bytes acc, const streams_record* window,
                   streams_call* call) noexcept {
  auto* self = static_cast<AggregateInstance<T>*>(instance);
  Output out(self->host, call);
  return guarded(out, [&] {
    Status s = decode_or_fail<T>(out, acc, self->a);
    return s == Status::ok ? self->function.result(self->a, Record(*window), out) : s;
  });
}

}  // namespace detail

// The aggregate of a reduce step (ABI 1.2). T has
//   using Acc = ...;  // trivially copyable (a count, a sum) or std::string
//   void init(Acc& acc);                              // acc starts value-initialised
//   Status add(Acc& acc, const Record& in);
//   void merge(Acc& first, const Acc& second);        // second follows first
//   Status result(const Acc& acc, const Record& window, Output& out);
// and a constructor taking `const InitContext&` or none. result() emits the
// window's output(s); window.key() is the group key, window.timestamp_ms()
// the window's time, and emit_value() gives the output both.
template <class T>
constexpr streams_function aggregate(const char* name) {
  return streams_function{sizeof(streams_function),
                          STREAMS_KIND_AGGREGATE,
                          name,
                          &detail::create<T, detail::AggregateInstance<T>>,
                          &detail::destroy<detail::AggregateInstance<T>>,
                          nullptr,
                          &detail::agg_init<T>,
                          &detail::agg_add<T>,
                          &detail::agg_merge<T>,
                          &detail::agg_result<T>,
                          /*state_version=*/0,
                          /*migrate=*/nullptr,
                          /*sink_guarantee=*/0,
                          /*write_batch=*/nullptr,
                          /*poll_sink=*/nullptr,
                          /*flush_sink=*/nullptr,
                          /*sink_partition=*/nullptr,
                          /*sink_batches_out=*/0};
}

}  // namespace streams

#endif  // STREAMS_AGGREGATE_HPP
