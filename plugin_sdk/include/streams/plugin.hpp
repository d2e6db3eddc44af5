// C++ layer over the streams plugin ABI (plugin_abi.h). Header-only.
//
// A transform is a small class plus one export macro:
//
//   class Upper {
//    public:
//     explicit Upper(const streams::InitContext& ctx);  // or default-constructible
//     streams::Status process(const streams::Record& in, streams::Output& out) {
//       buf_.assign(in.value());
//       for (auto& c : buf_) c = std::toupper(c);
//       return out.emit_value(buf_);
//     }
//    private:
//     std::string buf_;  // reused: no allocation per record once grown
//   };
//   STREAMS_PLUGIN("upper", "1.0.0", streams::map<Upper>("upper"))
//
// One instance is created per partition and step; `process` runs on one
// thread at a time per instance. Exceptions thrown by a constructor fail the
// instance creation with what(); exceptions thrown by `process` become a
// per-record error of kind exception. None crosses the C boundary.
#ifndef STREAMS_PLUGIN_HPP
#define STREAMS_PLUGIN_HPP

#include <streams/plugin_abi.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace streams {

enum class Status : int32_t {
  ok = STREAMS_OK,
  keep = STREAMS_OK,
  drop = STREAMS_DROP,
  error = STREAMS_RECORD_ERROR,
  fatal = STREAMS_FATAL,
};

enum class ErrorKind : int32_t {
  invalid_input = STREAMS_ERR_INVALID_INPUT,
  processing = STREAMS_ERR_PROCESSING,
  exception = STREAMS_ERR_EXCEPTION,
};

enum class LogLevel : int32_t {
  debug = STREAMS_LOG_DEBUG,
  info = STREAMS_LOG_INFO,
  warn = STREAMS_LOG_WARN,
  error = STREAMS_LOG_ERROR,
};

inline std::string_view to_view(streams_bytes bytes) {
  return bytes.data ? std::string_view(reinterpret_cast<const char*>(bytes.data), bytes.size)
                    : std::string_view();
}

inline streams_bytes to_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Read-only view of an input record. Valid for the current call only.
class Record {
 public:
  explicit Record(const streams_record& raw) : raw_(raw) {}

  bool has_value() const { return raw_.value.data != nullptr; }
  std::string_view value() const { return to_view(raw_.value); }
  bool has_key() const { return raw_.key.data != nullptr; }
  std::string_view key() const { return to_view(raw_.key); }
  int64_t timestamp_ms() const { return raw_.timestamp_ms; }

  size_t header_count() const { return raw_.header_count; }
  std::string_view header_name(size_t i) const { return to_view(raw_.headers[i].name); }
  std::string_view header_value(size_t i) const { return to_view(raw_.headers[i].value); }
  // The first header called `name`, or nullptr.
  const streams_header* find_header(std::string_view name) const {
    for (size_t i = 0; i < raw_.header_count; ++i) {
      if (header_name(i) == name) return &raw_.headers[i];
    }
    return nullptr;
  }

  const streams_record& raw() const { return raw_; }

 private:
  const streams_record& raw_;
};

// The step's state (ABI 1.4): a key-value store per step and partition that
// the host keeps across restarts, rebalances and reloads. Only for steps
// that declare `state:` in the pipeline file; a call from another step
// fails the input (a contract error) whatever process returns.
// Valid for the current call only. Views returned by get() and handed to a
// scan's visitor are valid until the next state call or the end of the call.
//
//   auto seen = out.state().get(id);
//   if (seen) return streams::Status::drop;
//   return out.state().put(id, "");
class State {
 public:
  State(const streams_host_api* host, streams_call* call) : host_(host), call_(call) {}

  // False when the host predates state (ABI 1.4).
  bool available() const { return STREAMS_HAS_FIELD(host_, streams_host_api, state_scan); }

  // The value of `key`; nullopt when absent, expired (state.ttl_ms), or
  // when the call failed (then the host fails the input: return promptly).
  std::optional<std::string_view> get(std::string_view key) const {
    if (!available()) return std::nullopt;
    streams_bytes value{nullptr, 0};
    if (host_->state_get(call_, bytes(key), key.size(), &value) != STREAMS_OK || !value.data) {
      return std::nullopt;
    }
    return to_view(value);
  }
  // Status::ok, Status::error (refused: the input fails) or Status::fatal.
  Status put(std::string_view key, std::string_view value) {
    if (!available()) return Status::error;
    return static_cast<Status>(
        host_->state_put(call_, bytes(key), key.size(), bytes(value), value.size()));
  }
  Status erase(std::string_view key) {
    if (!available()) return Status::error;
    return static_cast<Status>(host_->state_erase(call_, bytes(key), key.size()));
  }
  // Calls visit(key, value) for each key starting with `prefix`, in byte
  // order, while it returns true (a visitor returning void visits all).
  // visit must not call the state.
  template <class F>
  Status scan(std::string_view prefix, F&& visit) {
    if (!available()) return Status::error;
    auto trampoline = [](void* ctx, streams_bytes key, streams_bytes value) -> int32_t {
      F& f = *static_cast<std::remove_reference_t<F>*>(ctx);
      if constexpr (std::is_void_v<decltype(f(to_view(key), to_view(value)))>) {
        f(to_view(key), to_view(value));
        return 0;
      } else {
        return f(to_view(key), to_view(value)) ? 0 : 1;
      }
    };
    return static_cast<Status>(
        host_->state_scan(call_, bytes(prefix), prefix.size(), trampoline, &visit));
  }

 private:
  // A non-null pointer even for an empty view: null with size 0 is fine
  // for the host, but a present empty value should stay present.
  static const uint8_t* bytes(std::string_view s) {
    return reinterpret_cast<const uint8_t*>(s.data() ? s.data() : "");
  }
  const streams_host_api* host_;
  streams_call* call_;
};

// Services for one process() call. Valid for that call only.
class Output {
 public:
  Output(const streams_host_api* host, streams_call* call) : host_(host), call_(call) {}

  // Emit `value` as the new value; key, headers and timestamp are the
  // input's. The host copies `value` before returning.
  Status emit_value(std::string_view value) {
    streams_record out{};
    out.struct_size = sizeof(out);
    out.flags = STREAMS_INHERIT_ALL;
    out.value = to_bytes(value);
    return emit(out);
  }

  // Emit a full record; fields named in record.flags come from the input.
  Status emit(const streams_record& record) {
    return static_cast<Status>(host_->emit(call_, &record));
  }

  // Record why the input failed; returns Status::error for `return out.fail(...)`.
  Status fail(ErrorKind kind, std::string_view message) {
    host_->set_error(call_, static_cast<int32_t>(kind), message.data(), message.size());
    return Status::error;
  }

  // Add a detail to the failure being reported (before `return out.fail`):
  // the DLQ record carries it as header streams.error.<name>. `name`: 1-32
  // of [a-z0-9_]. False if the host refused it or predates details (1.3).
  bool detail(std::string_view name, std::string_view value) {
    if (!STREAMS_HAS_FIELD(host_, streams_host_api, set_error_detail)) return false;
    return host_->set_error_detail(call_, name.data(), name.size(), value.data(), value.size()) ==
           STREAMS_OK;
  }

  const streams_origin& origin() const { return *host_->origin(call_); }

  // The step's state (see State).
  State state() const { return State(host_, call_); }

  // Hands work done on the input (a parse, say) to the step that runs right
  // after this one on the same input (a filter's kept input goes on to the
  // next step), which gets it with shared(tag); saves doing it twice.
  // `tag`: the address of something of the plugin's (a static) naming what
  // `value` is. `value` must stay valid until this instance is called
  // again. False when refused (more than 4 tags) or the host has no sharing
  // (before ABI 1.8, or a test driver without it): then nothing is shared.
  bool share(const void* tag, void* value) {
    if (!STREAMS_HAS_FIELD(host_, streams_host_api, share) || !host_->share) return false;
    return host_->share(call_, tag, value) == STREAMS_OK;
  }
  // What the step just before left under `tag` if its input was this one
  // (passed on unchanged); null otherwise: then do the work yourself.
  void* shared(const void* tag) const {
    if (!STREAMS_HAS_FIELD(host_, streams_host_api, shared) || !host_->shared) return nullptr;
    return host_->shared(call_, tag);
  }
  template <class T>
  T* shared_as(const void* tag) const {
    return static_cast<T*>(shared(tag));
  }

  // Route functions: send the input down branch `name`; returns Status::ok
  // for `return out.route_to(...)`. Needs a host of ABI 1.1 or later.
  Status route_to(std::string_view name) {
    if (!STREAMS_HAS_FIELD(host_, streams_host_api, select_branch)) {
      return fail(ErrorKind::processing, "the host predates route functions (ABI 1.1)");
    }
    return static_cast<Status>(host_->select_branch(call_, name.data(), name.size()));
  }

 private:
  const streams_host_api* host_;
  streams_call* call_;
};

// A count the host keeps for the step and exports with its metrics (ABI
// 1.11): streams_plugin_<name>_total{pipeline, step} in Prometheus,
// streams.plugin_<name> in DogStatsD. Made once, at creation
// (InitContext::counter); add() from any thread costs an atomic add. Every
// instance and generation of the step that names it adds to the same count.
// A default one, or one the host refused (a name not of 1 to 64 of
// [a-z0-9_], a host before 1.11), counts nothing.
class Counter {
 public:
  Counter() = default;
  Counter(const streams_host_api* host, std::string_view name) {
    if (!STREAMS_HAS_FIELD(host, streams_host_api, count) || !host->counter) return;
    handle_ = host->counter(host->host_ctx, name.data(), name.size());
    if (handle_ != 0) host_ = host;
  }
  void add(uint64_t n = 1) const {
    if (host_) host_->count(host_->host_ctx, handle_, n);
  }
  bool counting() const { return host_ != nullptr; }

 private:
  const streams_host_api* host_ = nullptr;
  uint32_t handle_ = 0;
};

// A value the host keeps for the step and exports with its metrics (ABI
// 1.12): streams_plugin_<name>{pipeline, step} in Prometheus,
// streams.plugin_<name> (|g) in DogStatsD. Made once, at creation
// (InitContext::gauge); set() and add() from any thread cost an atomic
// store or update. Every instance of the step shares the one value: set() a
// value of the whole step (a model's version), add() one each instance
// holds a part of (its cache's entries: add on insert, subtract on evict and
// in its destructor). A default one, or one the host refused, keeps nothing.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const streams_host_api* host, std::string_view name) {
    if (!STREAMS_HAS_FIELD(host, streams_host_api, observe) || !host->gauge) return;
    handle_ = host->gauge(host->host_ctx, name.data(), name.size());
    if (handle_ != 0) host_ = host;
  }
  void set(double value) const {
    if (host_) host_->gauge_set(host_->host_ctx, handle_, value);
  }
  void add(double delta) const {
    if (host_) host_->gauge_add(host_->host_ctx, handle_, delta);
  }
  bool keeping() const { return host_ != nullptr; }

 private:
  const streams_host_api* host_ = nullptr;
  uint32_t handle_ = 0;
};

// Values the host counts into buckets for the step (ABI 1.12):
// streams_plugin_<name>{pipeline, step} as a Prometheus histogram (_bucket,
// _sum, _count). Made once, at creation (InitContext::histogram), with its
// buckets' upper bounds (ascending, at most 16; none: seconds from 1 ms to
// 10 s); observe() from any thread costs a few compares and two atomic
// updates. A default one, or one the host refused, keeps nothing.
class Histogram {
 public:
  Histogram() = default;
  Histogram(const streams_host_api* host, std::string_view name,
            std::initializer_list<double> bounds = {}) {
    if (!STREAMS_HAS_FIELD(host, streams_host_api, observe) || !host->histogram) return;
    handle_ =
        host->histogram(host->host_ctx, name.data(), name.size(), bounds.begin(), bounds.size());
    if (handle_ != 0) host_ = host;
  }
  void observe(double value) const {
    if (host_) host_->observe(host_->host_ctx, handle_, value);
  }
  bool keeping() const { return host_ != nullptr; }

 private:
  const streams_host_api* host_ = nullptr;
  uint32_t handle_ = 0;
};

// What a function instance gets at creation. Valid during construction only;
// keep `host()` if the instance logs later (it outlives the instance).
class InitContext {
 public:
  InitContext(const streams_host_api* host, std::string_view config_json)
      : host_(host), config_json_(config_json) {}

  // The step's `config:` subtree as JSON text ("{}" if absent).
  std::string_view config_json() const { return config_json_; }
  const streams_host_api* host() const { return host_; }
  void log(LogLevel level, std::string_view message) const {
    host_->log(host_->host_ctx, static_cast<int32_t>(level), message.data(), message.size());
  }
  // The step's counter `name` (see Counter); keep it as a member.
  Counter counter(std::string_view name) const { return Counter(host_, name); }
  // The step's gauge and histogram `name` (see Gauge, Histogram).
  Gauge gauge(std::string_view name) const { return Gauge(host_, name); }
  Histogram histogram(std::string_view name, std::initializer_list<double> bounds = {}) const {
    return Histogram(host_, name, bounds);
  }

 private:
  const streams_host_api* host_;
  std::string_view config_json_;
};

namespace detail {

inline void write_error(char* error, size_t error_size, const char* message) {
  if (error_size == 0) return;
  size_t n = std::strlen(message);
  if (n >= error_size) n = error_size - 1;
  std::memcpy(error, message, n);
  error[n] = '\0';
}

template <class T>
struct Instance {
  const streams_host_api* host;
  T function;
  template <class... A>
  explicit Instance(const streams_host_api* h, A&&... args)
      : host(h), function(static_cast<A&&>(args)...) {}
};

// Runs `body` (returning Status) with exceptions turned into record errors.
template <class F>
int32_t guarded(Output& out, F&& body) noexcept {
  try {
    return static_cast<int32_t>(body());
  } catch (const std::exception& e) {
    return static_cast<int32_t>(out.fail(static_cast<ErrorKind>(STREAMS_ERR_EXCEPTION), e.what()));
  } catch (...) {
    return static_cast<int32_t>(
        out.fail(static_cast<ErrorKind>(STREAMS_ERR_EXCEPTION), "unknown exception"));
  }
}

// I is the instance type: Instance<T> or a type derived from it.
template <class T, class I = Instance<T>>
void* create(const streams_host_api* host, const char* config, size_t config_size, char* error,
             size_t error_size) noexcept {
  try {
    if constexpr (std::is_constructible_v<T, const InitContext&>) {
      return new I(host, InitContext(host, std::string_view(config, config_size)));
    } else {
      return new I(host);
    }
  } catch (const std::exception& e) {
    write_error(error, error_size, e.what());
  } catch (...) {
    write_error(error, error_size, "unknown exception in constructor");
  }
  return nullptr;
}

template <class I>
void destroy(void* instance) noexcept {
  delete static_cast<I*>(instance);
}

template <class T>
int32_t process(void* instance, const streams_record* input, streams_call* call) noexcept {
  auto* self = static_cast<Instance<T>*>(instance);
  Output out(self->host, call);
  return guarded(out, [&] { return self->function.process(Record(*input), out); });
}

// T::state_version, or 0 when T declares none.
template <class T, class = void>
struct StateVersion {
  static constexpr uint32_t value = 0;
};
template <class T>
struct StateVersion<T, std::void_t<decltype(T::state_version)>> {
  static_assert(T::state_version <= STREAMS_MAX_STATE_VERSION, "state_version is at most 32767");
  static constexpr uint32_t value = T::state_version;
};

// T has Status migrate(uint32_t from_version, std::string_view value, std::string& out).
template <class T, class = void>
struct HasMigrate : std::false_type {};
template <class T>
struct HasMigrate<T, std::void_t<decltype(std::declval<T&>().migrate(
                         uint32_t{}, std::string_view{}, std::declval<std::string&>()))>>
    : std::true_type {};

template <class T>
int32_t migrate(void* instance, uint32_t from_version, streams_bytes value,
                streams_call* call) noexcept {
  auto* self = static_cast<Instance<T>*>(instance);
  Output out(self->host, call);
  return guarded(out, [&] {
    std::string converted;  // migrations are rare: once per old value
    const Status s = self->function.migrate(from_version, to_view(value), converted);
    if (s != Status::ok) return s;
    return static_cast<Status>(self->host->set_accumulator(
        call, reinterpret_cast<const uint8_t*>(converted.data()), converted.size()));
  });
}

// &migrate<T> when T has a migrate, else null.
template <class T>
constexpr decltype(streams_function::migrate) migrate_of() {
  if constexpr (HasMigrate<T>::value) {
    return &migrate<T>;
  } else {
    return nullptr;
  }
}

template <class T>
constexpr streams_function make_function(int32_t kind, const char* name) {
  // Every member named: -Wextra warns about any left to zero-initialisation.
  return streams_function{sizeof(streams_function),
                          kind,
                          name,
                          &create<T>,
                          &destroy<Instance<T>>,
                          &process<T>,
                          /*init=*/nullptr,
                          /*add=*/nullptr,
                          /*merge=*/nullptr,
                          /*result=*/nullptr,
                          StateVersion<T>::value,
                          migrate_of<T>(),
                          /*sink_guarantee=*/0,
                          /*write_batch=*/nullptr,
                          /*poll_sink=*/nullptr,
                          /*flush_sink=*/nullptr,
                          /*sink_partition=*/nullptr,
                          /*sink_batches_out=*/0};
}

// The static descriptor behind STREAMS_PLUGIN. Not copyable: it points into
// itself.
template <size_t N>
struct PluginTable {
  std::array<streams_function, N> functions;
  std::array<const streams_function*, N> pointers{};
  streams_plugin descriptor{};

  PluginTable(const char* name, const char* version, std::array<streams_function, N> fns)
      : functions(fns) {
    for (size_t i = 0; i < N; ++i) pointers[i] = &functions[i];
    descriptor = streams_plugin{
        sizeof(streams_plugin), STREAMS_ABI_MAJOR, STREAMS_ABI_MINOR, name, version, N,
        pointers.data()};
  }
  PluginTable(const PluginTable&) = delete;
  PluginTable& operator=(const PluginTable&) = delete;
};

template <class... F>
PluginTable<sizeof...(F)> make_table(const char* name, const char* version, F... fns) {
  return PluginTable<sizeof...(F)>(name, version, {fns...});
}

}  // namespace detail

// Function declarations for STREAMS_PLUGIN. T must have
//   Status process(const Record&, Output&)
// and a constructor taking `const InitContext&` or none. A T whose state's
// form changed between versions may declare (ABI 1.5)
//   static constexpr uint32_t state_version = N;  // 1..32767; absent: 0
//   Status migrate(uint32_t from_version, std::string_view value, std::string& out);
// migrate() converts a value an older version wrote into `out` (Status::ok),
// erases it (Status::drop) or fails the input reading it (Status::error, or
// an exception). The host calls it on the first read of such a value and
// stores the result; it must not use the state.
template <class T>
constexpr streams_function map(const char* name) {
  return detail::make_function<T>(STREAMS_KIND_MAP, name);
}
template <class T>
constexpr streams_function filter(const char* name) {
  return detail::make_function<T>(STREAMS_KIND_FILTER, name);
}
template <class T>
constexpr streams_function flat_map(const char* name) {
  return detail::make_function<T>(STREAMS_KIND_FLAT_MAP, name);
}
// A route: process() calls out.route_to("branch") and emits nothing.
template <class T>
constexpr streams_function route(const char* name) {
  return detail::make_function<T>(STREAMS_KIND_ROUTE, name);
}

}  // namespace streams

#include <streams/aggregate.hpp>  // streams::aggregate<T>, for reduce steps
#include <streams/sink.hpp>       // streams::sink<T>, for sink steps

// Exports the plugin entry point. NAME and VERSION are string literals,
// followed by one or more streams::map/filter/flat_map/route/aggregate/sink<T>("name").
#define STREAMS_PLUGIN(NAME, VERSION, ...)                                                        \
  extern "C" __attribute__((visibility("default"))) const streams_plugin* STREAMS_PLUGIN_ENTRY(   \
      void) {                                                                                     \
    static const auto streams_table_ = ::streams::detail::make_table(NAME, VERSION, __VA_ARGS__); \
    return &streams_table_.descriptor;                                                            \
  }

#endif  // STREAMS_PLUGIN_HPP
