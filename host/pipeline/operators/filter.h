// filter: the plugin function keeps the record (OK, emitting nothing) or
// drops it (DROP).
#pragma once

#include "pipeline/operator.h"

namespace streams::pipeline::operators {

const Operator& filter();

}  // namespace streams::pipeline::operators
