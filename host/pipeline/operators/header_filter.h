// header_filter: keeps the records whose first header `header` is the text
// `value`; a record without that header is dropped, one whose value is not
// UTF-8 text is a record error.
#pragma once

#include <string>

#include "pipeline/operator.h"

namespace streams::pipeline::operators {

struct HeaderFilterSettings final : config::StepSettings {
  std::string header;
  std::string value;
};

const Operator& header_filter();

}  // namespace streams::pipeline::operators
