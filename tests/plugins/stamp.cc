// A map for reload tests, built twice (stamp_v1.so and stamp_v2.so, both
// plugin "stamp"): emits "VALUE VERSION PARTITION@OFFSET CONFIG", the config
// being the step's config JSON. Config {"fail_init": true} fails its init.
// `count` (a step with `state:`): the running count of records per key,
// kept as decimal text; emits "KEY COUNT VERSION PARTITION@OFFSET".
#include <streams/plugin.hpp>

#include <stdexcept>
#include <string>

namespace {

class Stamp {
 public:
  explicit Stamp(const streams::InitContext& ctx) : config_(ctx.config_json()) {
    if (config_.find("\"fail_init\":true") != std::string::npos) {
      throw std::invalid_argument("stamp refuses to start: fail_init is set");
    }
  }
  streams::Status process(const streams::Record& in, streams::Output& out) {
    const streams_origin& o = out.origin();
    buf_.assign(in.value()).append(" " STAMP_VERSION " ");
    buf_.append(std::to_string(o.partition)).append("@").append(std::to_string(o.offset));
    buf_.append(" ").append(config_);
    return out.emit_value(buf_);
  }

 private:
  std::string config_;
  std::string buf_;
};

class Count {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    streams::State state = out.state();
    unsigned long long n = 1;
    if (auto seen = state.get(in.key())) n += std::stoull(std::string(*seen));
    text_ = std::to_string(n);
    if (auto s = state.put(in.key(), text_); s != streams::Status::ok) return s;
    const streams_origin& o = out.origin();
    buf_.assign(in.key()).append(" ").append(text_).append(" " STAMP_VERSION " ");
    buf_.append(std::to_string(o.partition)).append("@").append(std::to_string(o.offset));
    return out.emit_value(buf_);
  }

 private:
  std::string text_, buf_;
};

}  // namespace

STREAMS_PLUGIN("stamp", STAMP_VERSION, streams::map<Stamp>("stamp"), streams::map<Count>("count"))
