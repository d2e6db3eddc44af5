// One function of every kind, built with the strictest warnings a plugin
// author may use: the SDK's templates for each kind must compile quietly.
#include <cstdint>
#include <streams/plugin.hpp>
#include <string>

namespace {

class Keep {
 public:
  streams::Status process(const streams::Record& in, streams::Output&) {
    return in.value().empty() ? streams::Status::drop : streams::Status::keep;
  }
};

class Twice {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    const streams::Status first = out.emit_value(in.value());
    return first == streams::Status::ok ? out.emit_value(in.value()) : first;
  }
};

class ByLength {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    return out.route_to(in.value().size() > 3 ? "long" : "short");
  }
};

class Count {
 public:
  using Acc = uint64_t;
  void init(Acc& acc) { acc = 0; }
  streams::Status add(Acc& acc, const streams::Record&) {
    ++acc;
    return streams::Status::ok;
  }
  void merge(Acc& first, const Acc& second) { first += second; }
  streams::Status result(const Acc& acc, const streams::Record&, streams::Output& out) {
    text_ = std::to_string(acc);
    return out.emit_value(text_);
  }

 private:
  std::string text_;
};

}  // namespace

STREAMS_PLUGIN("every_kind", "0.1.0", streams::filter<Keep>("keep"),
               streams::flat_map<Twice>("twice"), streams::route<ByLength>("by_length"),
               streams::aggregate<Count>("count"))
