// The built-in parser and serializer steps (data plane, control-plane built).
//
// Inside a pipeline a parsed message is JSON text: a parser checks its input
// in the wire format (JSON or msgpack), converts msgpack to JSON, and
// validates it against a JSON Schema when the step has one; a serializer
// turns JSON text into the wire format. A JSON input that needs no schema
// check passes through without a copy.
//
// Lifetime: built with the Generation and shared read-only by every Chain.
// Thread: apply() may run on many threads at once (each with its own
// CodecScratch).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <streams/plugin_abi.h>

#include "config/pipeline_config.h"
#include "pipeline/json_check.h"

namespace streams::pipeline {

// A Chain's working state for one codec step: buffers reused across records.
struct SchemaScratch;  // codec.cc: what a schema check keeps between records

struct CodecScratch {
  std::string text;
  JsonCheck json;
  // Made by the first schema check (its compiled `pattern` regexes are kept).
  std::shared_ptr<SchemaScratch> schema;
};

// Another reader's reason for rejecting a JSON text the parser rejected: true
// with *error replaced, or false to keep the parser's own reason. Called on
// the error path only, from any thread running the step.
using JsonErrorText = std::function<bool(std::string_view text, std::string* error)>;

class CodecStep {
 public:
  // A parser of `format` (with the JSON Schema at `schema_path`, if not
  // empty). A JSON parser reports text that is not JSON with `json_error`'s
  // reason when given one (a Python pipeline's: Python's words). On failure
  // (unreadable or invalid schema) returns nullptr with *error.
  static std::shared_ptr<const CodecStep> parser(config::Codec format,
                                                 const std::string& schema_path, std::string* error,
                                                 JsonErrorText json_error = nullptr);
  // A serializer of JSON text to `format`.
  static std::shared_ptr<const CodecStep> serializer(config::Codec format);
  virtual ~CodecStep() = default;

  // Converts `in` into *out, which is either `in` itself or a view of
  // scratch.text. Returns false with *error (the reason the input is invalid).
  virtual bool apply(streams_bytes in, CodecScratch& scratch, streams_bytes* out,
                     std::string* error) const = 0;
};

}  // namespace streams::pipeline
