// sink: writes each record to the step's sink (its type's OutputSink, see
// pipeline/sink.h and config/sink_type.h). A record the sink refuses for good
// is a record error; a sink that cannot go on stops the pipeline.
#pragma once

#include "pipeline/operator.h"

namespace streams::pipeline::operators {

const Operator& sink();

}  // namespace streams::pipeline::operators
