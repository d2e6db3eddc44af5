// A map whose constructor requires config.threshold and throws without it.
#include <stdexcept>
#include <streams/plugin.hpp>

namespace {

class Strict {
 public:
  explicit Strict(const streams::InitContext& ctx) {
    if (ctx.config_json().find("\"threshold\"") == std::string_view::npos) {
      throw std::runtime_error("config.threshold is required");
    }
  }
  streams::Status process(const streams::Record& in, streams::Output& out) {
    return out.emit_value(in.value());
  }
};

}  // namespace

STREAMS_PLUGIN("failing_init", "0.1.0", streams::map<Strict>("strict"))
