// broadcast: each record goes down every branch, in order.
#pragma once

#include "pipeline/operator.h"

namespace streams::pipeline::operators {

const Operator& broadcast();

}  // namespace streams::pipeline::operators
