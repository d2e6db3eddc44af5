// reduce: an aggregate plugin function over count or event-time windows
// (pipeline/windows.h), per group key from an optional group_by map
// function. Open windows hold the inputs their panes started with.
#pragma once

#include "pipeline/operator.h"

namespace streams::pipeline::operators {

const Operator& reduce();

}  // namespace streams::pipeline::operators
