// identity (map): emits each input value unchanged (key, headers and
// timestamp inherited). drop_all (filter): drops everything. For benchmarks
// and tests of the plugin call path.
#include <streams/plugin.hpp>

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

}  // namespace

STREAMS_PLUGIN("passthrough", "1.0.0", streams::map<Identity>("identity"),
               streams::filter<DropAll>("drop_all"))
