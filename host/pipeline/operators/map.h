// map: the plugin function emits exactly one record for each input.
#pragma once

#include "pipeline/operator.h"

namespace streams::pipeline::operators {

const Operator& map();

}  // namespace streams::pipeline::operators
