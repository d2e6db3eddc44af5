// identity (map): emits each input value unchanged (key, headers and
// timestamp inherited). drop_all (filter): drops everything. count (map, on
// a step with `state:`): the running count of records per key, kept as 8
// bytes, emitted as decimal text. For benchmarks and tests of the plugin
// call path and of state.
#include <streams/plugin.hpp>

#include <charconv>
#include <cstdint>
#include <cstring>

namespace {

class Identity {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    return out.emit_value(in.value());
  }
};

class DropAll {
 public:
  streams::Status process(const streams::Record&, streams::Output&) {
    return streams::Status::drop;
  }
};

class Count {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    streams::State state = out.state();
    uint64_t n = 1;
    if (auto seen = state.get(in.key()); seen && seen->size() == sizeof n) {
      std::memcpy(&n, seen->data(), sizeof n);
      ++n;
    }
    char bytes[sizeof n];
    std::memcpy(bytes, &n, sizeof n);
    if (auto s = state.put(in.key(), {bytes, sizeof bytes}); s != streams::Status::ok) return s;
    char text[24];
    const auto end = std::to_chars(text, text + sizeof text, n).ptr;
    return out.emit_value({text, static_cast<size_t>(end - text)});
  }
};

}  // namespace

STREAMS_PLUGIN("passthrough", "1.0.0", streams::map<Identity>("identity"),
               streams::filter<DropAll>("drop_all"), streams::map<Count>("count"))
