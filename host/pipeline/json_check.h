// A reusable JSON validity check for the data plane (parser, serializer and
// json batches), and the JSON to msgpack conversion of the serializer. simdjson checks a document
// at GB/s and, once its buffers have grown, allocates nothing per call; nlohmann_json's SAX check
// measured 3x slower than the whole simple_map_filter step chain (plugin_call_bench).
//
// Thread: one instance per thread (it owns parse buffers).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace streams::pipeline {

class JsonCheck {
 public:
  JsonCheck();
  ~JsonCheck();
  JsonCheck(const JsonCheck&) = delete;
  JsonCheck& operator=(const JsonCheck&) = delete;

  // True when `text` is one valid JSON document nested at most kMaxNesting
  // levels (msgpack.h); else false with *error ("not valid JSON: ..." with
  // the position where it can be told).
  bool valid(std::string_view text, std::string* error);

  // Replaces *out with the msgpack encoding of the JSON document `text`
  // (integers in their smallest form, floats as float32 when exact), or
  // returns false with *error as valid() does.
  bool to_msgpack(std::string_view text, std::string* out, std::string* error);

 private:
  struct Parser;
  std::unique_ptr<Parser> parser_;
};

// Why `text` is not valid JSON: "not valid JSON: <position and reason>".
// Slow; for error messages only.
std::string describe_parse_failure(std::string_view text);

}  // namespace streams::pipeline
