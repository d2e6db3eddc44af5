// parser and serializer: the built-in codec steps (pipeline/codec.h). A
// parser checks its input in the wire format (and against its JSON Schema)
// and hands on JSON text; a serializer turns JSON text into the wire format.
#pragma once

#include "pipeline/operator.h"

namespace streams::pipeline::operators {

const Operator& parser();
const Operator& serializer();

}  // namespace streams::pipeline::operators
