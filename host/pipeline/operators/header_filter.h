// header_filter: keeps the records whose first header `header` is the text
// `value`; a record without that header is dropped, one whose value is not
// UTF-8 text is a record error.
#pragma once

#include "pipeline/operator.h"

namespace streams::pipeline::operators {

const Operator& header_filter();

}  // namespace streams::pipeline::operators
