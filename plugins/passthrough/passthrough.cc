// Identity map: emits each input value unchanged (key, headers and
// timestamp inherited). For benchmarks and tests of the plugin call path.
#include <streams/plugin.hpp>

namespace {

class Identity {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    return out.emit_value(in.value());
  }
};

}  // namespace

STREAMS_PLUGIN("passthrough", "1.0.0", streams::map<Identity>("identity"))
