// flat_map: the plugin function emits any number of records for each input.
#pragma once

#include "pipeline/operator.h"

namespace streams::pipeline::operators {

const Operator& flat_map();

}  // namespace streams::pipeline::operators
