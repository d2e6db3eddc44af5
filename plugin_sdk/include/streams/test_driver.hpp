// Test driver for plugin authors: feeds records through one function of a
// plugin in-process, with no host, and returns what it emitted, the branch it
// chose or the error it reported. Header-only; for tests, not for plugins
// (it allocates and throws freely).
//
//   // The plugin's source compiled into the test binary:
//   streams::test_driver::FunctionDriver upper(STREAMS_PLUGIN_ENTRY(), "upper");
//   // or a built .so:
//   streams::test_driver::Library lib("build/my_plugin.so");
//   streams::test_driver::FunctionDriver upper(lib.plugin(), "upper", R"({"limit": 5})");
//
//   auto result = upper.process(streams::test_driver::value("abc"));
//   assert(result.status == streams::Status::ok);
//   assert(result.outputs.at(0).value == "ABC");
//
// The driver applies the same contract checks as the host (a map emits
// exactly one record, a filter and a route none, only a filter drops) and
// reports a break in `contract_error`.
//
// Thread: one driver per thread; process() like the host calls it.
#ifndef STREAMS_TEST_DRIVER_HPP
#define STREAMS_TEST_DRIVER_HPP

#include <dlfcn.h>
#include <streams/plugin.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace streams::test_driver {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A record fed in. Absent key or value = Kafka null.
struct Input {
  std::optional<std::string> key;
  std::optional<std::string> value;
  Headers headers;
  int64_t timestamp_ms = -1;
  std::string topic = "test";
  int32_t partition = 0;
  int64_t offset = 0;
};

inline Input value(std::string v) {
  Input in;
  in.value = std::move(v);
  return in;
}

// A record the function emitted, with inherited fields resolved.
struct Output {
  std::optional<std::string> key;
  std::optional<std::string> value;
  Headers headers;
  int64_t timestamp_ms = -1;
};

struct Result {
  Status status = Status::ok;  // what process() returned
  std::vector<Output> outputs;
  std::optional<std::string> branch;  // route functions
  int32_t error_kind = 0;             // STREAMS_ERR_*, 0 if none was set
  std::string error_message;
  std::string contract_error;  // empty unless the function broke the ABI contract
};

// A plugin .so opened privately (RTLD_NOW | RTLD_LOCAL). Throws
// std::runtime_error naming the path when it cannot be loaded.
class Library {
 public:
  explicit Library(const std::string& path) : handle_(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
    if (!handle_) throw std::runtime_error("cannot load " + path + ": " + dlerror());
    auto entry =
        reinterpret_cast<streams_plugin_entry_fn>(dlsym(handle_, STREAMS_PLUGIN_ENTRY_NAME));
    if (!entry) {
      dlclose(handle_);
      throw std::runtime_error(path + " does not export " STREAMS_PLUGIN_ENTRY_NAME);
    }
    plugin_ = entry();
  }
  ~Library() { dlclose(handle_); }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  const streams_plugin* plugin() const { return plugin_; }

 private:
  void* handle_;
  const streams_plugin* plugin_ = nullptr;
};

class FunctionDriver {
 public:
  // Creates an instance of `function` with `config_json`. Throws
  // std::runtime_error when the function does not exist or fails to
  // initialise. `plugin` must outlive the driver.
  FunctionDriver(const streams_plugin* plugin, std::string_view function,
                 std::string config_json = "{}")
      : config_(std::move(config_json)) {
    for (size_t i = 0; i < plugin->function_count; ++i) {
      if (function == plugin->functions[i]->name) fn_ = plugin->functions[i];
    }
    if (!fn_) {
      throw std::runtime_error("plugin " + std::string(plugin->name) + " has no function '" +
                               std::string(function) + "'");
    }
    if (fn_->kind == STREAMS_KIND_AGGREGATE) {
      throw std::runtime_error("'" + std::string(function) +
                               "' is an aggregate: test it in a reduce step with "
                               "streams/pipeline_driver.hpp");
    }
    api_.struct_size = sizeof(api_);
    api_.abi_major = STREAMS_ABI_MAJOR;
    api_.abi_minor = STREAMS_ABI_MINOR;
    api_.host_ctx = this;
    api_.emit = &emit;
    api_.set_error = &set_error;
    api_.origin = [](streams_call* call) { return ctx(call)->origin; };
    api_.log = [](void* ctx, int32_t, const char* message, size_t size) {
      static_cast<FunctionDriver*>(ctx)->log_.emplace_back(message, size);
    };
    api_.counter = [](void* ctx, const char* name, size_t size) {
      return static_cast<FunctionDriver*>(ctx)->make_counter(std::string(name, size));
    };
    api_.count = [](void* ctx, uint32_t handle, uint64_t n) {
      auto* d = static_cast<FunctionDriver*>(ctx);
      if (handle > 0 && handle <= d->counter_names_.size()) {
        d->counters_[d->counter_names_[handle - 1]] += n;
      }
    };
    api_.gauge = [](void* ctx, const char* name, size_t size) {
      auto* d = static_cast<FunctionDriver*>(ctx);
      return d->make_named(&d->gauge_names_, std::string(name, size));
    };
    api_.gauge_set = [](void* ctx, uint32_t handle, double value) {
      auto* d = static_cast<FunctionDriver*>(ctx);
      if (handle > 0 && handle <= d->gauge_names_.size()) {
        d->gauges_[d->gauge_names_[handle - 1]] = value;
      }
    };
    api_.gauge_add = [](void* ctx, uint32_t handle, double delta) {
      auto* d = static_cast<FunctionDriver*>(ctx);
      if (handle > 0 && handle <= d->gauge_names_.size()) {
        d->gauges_[d->gauge_names_[handle - 1]] += delta;
      }
    };
    api_.histogram = [](void* ctx, const char* name, size_t size, const double*, size_t) {
      auto* d = static_cast<FunctionDriver*>(ctx);
      return d->make_named(&d->histogram_names_, std::string(name, size));
    };
    api_.observe = [](void* ctx, uint32_t handle, double value) {
      auto* d = static_cast<FunctionDriver*>(ctx);
      if (handle > 0 && handle <= d->histogram_names_.size()) {
        d->observed_[d->histogram_names_[handle - 1]].push_back(value);
      }
    };
    api_.select_branch = &select_branch;
    api_.state_get = &state_get;
    api_.state_put = &state_put;
    api_.state_erase = &state_erase;
    api_.state_scan = &state_scan;
    api_.set_accumulator = [](streams_call* call, const uint8_t* data, size_t size) -> int32_t {
      CallContext* c = ctx(call);
      if (!c->migrated || *c->migrated_set) return STREAMS_RECORD_ERROR;
      c->migrated->assign(reinterpret_cast<const char*>(data), size);
      *c->migrated_set = true;
      return STREAMS_OK;
    };
    char error[512] = {0};
    instance_ = fn_->create(&api_, config_.c_str(), config_.size(), error, sizeof error);
    if (!instance_) {
      throw std::runtime_error("function '" + std::string(function) +
                               "' failed to initialise: " + (error[0] ? error : "no reason given"));
    }
  }
  ~FunctionDriver() { fn_->destroy(instance_); }
  FunctionDriver(const FunctionDriver&) = delete;
  FunctionDriver& operator=(const FunctionDriver&) = delete;

  Result process(const Input& in) {
    std::vector<streams_header> headers;
    for (const auto& [name, value] : in.headers)
      headers.push_back({to_bytes(name), to_bytes(value)});
    streams_record record{};
    record.struct_size = sizeof(record);
    if (in.key) record.key = bytes_of(*in.key);
    if (in.value) record.value = bytes_of(*in.value);
    record.headers = headers.data();
    record.header_count = headers.size();
    record.timestamp_ms = in.timestamp_ms;
    const streams_origin origin{sizeof(streams_origin), in.topic.c_str(), in.partition, in.offset};
    Result result;
    CallContext call{&record, &result, &origin, &state_};
    result.status = static_cast<Status>(
        fn_->process(instance_, &record, reinterpret_cast<streams_call*>(&call)));
    check_contract(result);
    return result;
  }

  // Lines the function logged through the host, in order.
  const std::vector<std::string>& log() const { return log_; }

  // The counts of the counters the function made (ABI 1.11), by name.
  const std::map<std::string, uint64_t>& counters() const { return counters_; }
  // The values of the gauges the function set (ABI 1.12), by name, and
  // every value it observed in each histogram, in order.
  const std::map<std::string, double>& gauges() const { return gauges_; }
  const std::map<std::string, std::vector<double>>& observed() const { return observed_; }

  // The function's state (as if its step declared `state:`), kept for the
  // driver's life: read it, or seed it before process().
  std::map<std::string, std::string>& state() { return state_; }

  // Runs the function's migrate (ABI 1.5) on `value`, as written by version
  // `from_version`: the converted value, or nullopt when it erases the key.
  // Throws std::runtime_error when the function has no migrate or it fails.
  std::optional<std::string> migrate(uint32_t from_version, std::string_view value) {
    if (!fn_->migrate) throw std::runtime_error("the function has no migrate");
    Result result;
    std::string converted;
    bool set = false;
    CallContext call{nullptr, &result, nullptr, nullptr, &converted, &set};
    const int32_t status = fn_->migrate(
        instance_, from_version, {reinterpret_cast<const uint8_t*>(value.data()), value.size()},
        reinterpret_cast<streams_call*>(&call));
    if (status == STREAMS_DROP) return std::nullopt;
    if (status == STREAMS_OK && set) return converted;
    throw std::runtime_error(
        "migrate from version " + std::to_string(from_version) + " failed: " +
        (result.error_message.empty() ? "status " + std::to_string(status) : result.error_message));
  }
  // The function's state_version (0: unversioned, or a plugin before 1.5).
  uint32_t state_version() const {
    return STREAMS_HAS_FIELD(fn_, streams_function, state_version) ? fn_->state_version : 0;
  }

 private:
  // What the opaque streams_call points to during one process() call.
  struct CallContext {
    const streams_record* input;
    Result* result;
    const streams_origin* origin;
    std::map<std::string, std::string>* state;
    std::string* migrated = nullptr;  // migrate(): set_accumulator's target
    bool* migrated_set = nullptr;
  };
  static CallContext* ctx(streams_call* call) { return reinterpret_cast<CallContext*>(call); }

  // A present view even for an empty string (null only when absent).
  static streams_bytes bytes_of(const std::string& s) {
    static const uint8_t empty = 0;
    return {s.empty() ? &empty : reinterpret_cast<const uint8_t*>(s.data()), s.size()};
  }
  static std::optional<std::string> copy(streams_bytes b) {
    if (!b.data) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(b.data), b.size);
  }

  static int32_t emit(streams_call* call, const streams_record* r) {
    const streams_record& in = *ctx(call)->input;
    const uint32_t f = r->flags;
    Output out;
    out.key = copy(f & STREAMS_INHERIT_KEY ? in.key : r->key);
    out.value = copy(r->value);
    const streams_header* h = f & STREAMS_INHERIT_HEADERS ? in.headers : r->headers;
    const size_t n = f & STREAMS_INHERIT_HEADERS ? in.header_count : r->header_count;
    for (size_t i = 0; i < n; ++i) {
      out.headers.emplace_back(copy(h[i].name).value_or(""), copy(h[i].value).value_or(""));
    }
    out.timestamp_ms = f & STREAMS_INHERIT_TIMESTAMP ? in.timestamp_ms : r->timestamp_ms;
    ctx(call)->result->outputs.push_back(std::move(out));
    return STREAMS_OK;
  }

  static void set_error(streams_call* call, int32_t kind, const char* message, size_t size) {
    Result* result = ctx(call)->result;
    result->error_kind = kind;
    result->error_message.assign(message, size);
  }

  static int32_t select_branch(streams_call* call, const char* branch, size_t size) {
    Result* result = ctx(call)->result;
    if (result->branch) return STREAMS_RECORD_ERROR;
    result->branch.emplace(branch, size);
    return STREAMS_OK;
  }

  static std::string text(const uint8_t* data, size_t size) {
    return data ? std::string(reinterpret_cast<const char*>(data), size) : std::string();
  }
  static int32_t state_get(streams_call* call, const uint8_t* key, size_t size,
                           streams_bytes* value) {
    auto& state = *ctx(call)->state;
    auto it = state.find(text(key, size));
    *value = it == state.end() ? streams_bytes{nullptr, 0} : bytes_of(it->second);
    return STREAMS_OK;
  }
  static int32_t state_put(streams_call* call, const uint8_t* key, size_t size,
                           const uint8_t* value, size_t value_size) {
    (*ctx(call)->state)[text(key, size)] = text(value, value_size);
    return STREAMS_OK;
  }
  static int32_t state_erase(streams_call* call, const uint8_t* key, size_t size) {
    ctx(call)->state->erase(text(key, size));
    return STREAMS_OK;
  }
  static int32_t state_scan(streams_call* call, const uint8_t* prefix, size_t size,
                            int32_t (*visit)(void*, streams_bytes, streams_bytes), void* c) {
    auto& state = *ctx(call)->state;
    const std::string p = text(prefix, size);
    for (auto it = state.lower_bound(p);
         it != state.end() && it->first.compare(0, p.size(), p) == 0; ++it) {
      if (visit(c, bytes_of(it->first), bytes_of(it->second)) != 0) break;
    }
    return STREAMS_OK;
  }

  void check_contract(Result& r) const {
    const size_t n = r.outputs.size();
    const int32_t kind = fn_->kind;
    if (r.status == Status::error) {
      if (r.error_kind == 0) r.contract_error = "returned an error without setting one";
    } else if (r.status == Status::drop) {
      if (kind != STREAMS_KIND_FILTER) r.contract_error = "only a filter may return DROP";
    } else if (r.status != Status::ok) {
      // fatal: nothing to check
    } else if (kind == STREAMS_KIND_MAP && n != 1) {
      r.contract_error = "a map emits exactly one record; this one emitted " + std::to_string(n);
    } else if ((kind == STREAMS_KIND_FILTER || kind == STREAMS_KIND_ROUTE) && n != 0) {
      r.contract_error = "a filter or route emits nothing; this one emitted " + std::to_string(n);
    } else if (kind == STREAMS_KIND_ROUTE && !r.branch) {
      r.contract_error = "a route must choose a branch";
    }
  }

  // The handle of `name` in *names (its index + 1), added if new; the
  // host's rule: 1 to 64 of [a-z0-9_], else refused (0).
  static uint32_t make_named(std::vector<std::string>* names, const std::string& name) {
    if (name.empty() || name.size() > 64) return 0;
    for (char c : name) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return 0;
    }
    for (size_t i = 0; i < names->size(); ++i) {
      if ((*names)[i] == name) return static_cast<uint32_t>(i + 1);
    }
    names->push_back(name);
    return static_cast<uint32_t>(names->size());
  }
  uint32_t make_counter(const std::string& name) {
    const uint32_t handle = make_named(&counter_names_, name);
    if (handle) counters_.emplace(name, 0);
    return handle;
  }

  const streams_function* fn_ = nullptr;
  std::string config_;
  streams_host_api api_{};
  void* instance_ = nullptr;
  std::vector<std::string> log_;
  std::map<std::string, std::string> state_;
  std::vector<std::string> counter_names_;  // a handle is its index + 1
  std::map<std::string, uint64_t> counters_;
  std::vector<std::string> gauge_names_;  // the same for gauges, histograms
  std::map<std::string, double> gauges_;
  std::vector<std::string> histogram_names_;
  std::map<std::string, std::vector<double>> observed_;
};

}  // namespace streams::test_driver

#endif  // STREAMS_TEST_DRIVER_HPP
