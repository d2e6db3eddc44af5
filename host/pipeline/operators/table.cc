// The step kinds: one row each, in the order `kind` errors list them.
#include "pipeline/operator.h"

#include "pipeline/operators/batch.h"
#include "pipeline/operators/broadcast.h"
#include "pipeline/operators/codec_steps.h"
#include "pipeline/operators/filter.h"
#include "pipeline/operators/flat_map.h"
#include "pipeline/operators/header_filter.h"
#include "pipeline/operators/map.h"
#include "pipeline/operators/reduce.h"
#include "pipeline/operators/route.h"
#include "pipeline/operators/sink.h"

namespace streams::pipeline {
namespace {

using Row = const Operator& (*)();

constexpr Row kOperators[] = {
    &operators::map,    &operators::filter,     &operators::flat_map, &operators::header_filter,
    &operators::parser, &operators::serializer, &operators::batch,    &operators::reduce,
    &operators::route,  &operators::broadcast,  &operators::sink,
};

class Table final : public config::StepTypes {
 public:
  const config::StepType* find(std::string_view name) const override { return find_operator(name); }
  std::vector<std::string> list() const override {
    std::vector<std::string> out;
    for (Row row : kOperators) out.emplace_back(row().name());
    return out;
  }
};

}  // namespace

const Operator* find_operator(std::string_view name) {
  for (Row row : kOperators) {
    if (row().name() == name) return &row();
  }
  return nullptr;
}

const config::StepTypes& step_types() {
  static const Table table;
  return table;
}

}  // namespace streams::pipeline
