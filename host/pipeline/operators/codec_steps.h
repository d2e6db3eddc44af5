// parser and serializer: the built-in codec steps (pipeline/codec.h). A
// parser checks its input in the wire format (and against its JSON Schema)
// and hands on JSON text; a serializer turns JSON text into the wire format.
#pragma once

#include <string>

#include "pipeline/operator.h"

namespace streams::pipeline::operators {

struct CodecSettings final : config::StepSettings {
  config::Codec format = config::Codec::json;
  // parser: a JSON Schema file (absolute, resolved against the pipeline
  // file's directory), or empty.
  std::string schema_path;
  // Of the schema file's bytes as read with the pipeline (0: none, or
  // unreadable): an edited schema is a change a reload applies.
  uint64_t schema_hash = 0;
  config::Location schema_location;
};

const Operator& parser();
const Operator& serializer();

}  // namespace streams::pipeline::operators
