// route: the plugin function selects one branch for each record
// (select_branch) and emits nothing; the record goes down that branch.
#pragma once

#include "pipeline/operator.h"

namespace streams::pipeline::operators {

const Operator& route();

}  // namespace streams::pipeline::operators
