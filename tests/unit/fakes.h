// Fakes for the chain's collaborators: a sink that records (copies) what it
// is given, and an error handler that records failures.
#pragma once

#include <string>
#include <vector>

#include "pipeline/chain.h"

namespace streams::testing {

struct WrittenRecord {
  bool key_null;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t timestamp_ms;
  uint64_t token;
};

class FakeSink : public pipeline::OutputSink {
 public:
  pipeline::WriteResult write(const streams_record& r, uint64_t token, const streams_origin*,
                              std::string* reason) override {
    WrittenRecord w{
        r.key.data == nullptr, to_string(r.key), to_string(r.value), {}, r.timestamp_ms, token};
    for (size_t i = 0; i < r.header_count; ++i) {
      w.headers.emplace_back(to_string(r.headers[i].name), to_string(r.headers[i].value));
    }
    const bool too_large = r.key.size + r.value.size > max_bytes;
    if (too_large) {
      *reason = "larger than the fake sink's max_bytes";
      return pipeline::WriteResult::rejected;
    }
    written.push_back(std::move(w));
    if (result == pipeline::WriteResult::rejected) *reason = "rejected by the fake sink";
    return result;
  }
  std::string describe() const override { return "fake"; }
  static std::string to_string(streams_bytes b) {
    return b.data ? std::string(reinterpret_cast<const char*>(b.data), b.size) : std::string();
  }

  std::vector<WrittenRecord> written;
  pipeline::WriteResult result = pipeline::WriteResult::ok;
  size_t max_bytes = SIZE_MAX;  // key and value; larger records are rejected
};

struct SeenError {
  std::string step;
  std::string plugin_version;
  int32_t kind;
  std::string message;
  int64_t offset;
};

class FakeErrors : public pipeline::ErrorHandler {
 public:
  bool on_record_error(const pipeline::RecordError& e) override {
    seen.push_back(
        {e.step->name, e.step->plugin_version, e.kind, std::string(e.message), e.origin->offset});
    return keep_going;
  }
  std::vector<SeenError> seen;
  bool keep_going = true;
};

}  // namespace streams::testing
