// The step kinds and their operators: one row each.
#include "pipeline/operator.h"

#include <cstdlib>

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

using config::StepKind;

struct Row {
  StepKind kind;
  const Operator& (*op)();
};

constexpr Row kOperators[] = {
    {StepKind::map, &operators::map},
    {StepKind::filter, &operators::filter},
    {StepKind::flat_map, &operators::flat_map},
    {StepKind::header_filter, &operators::header_filter},
    {StepKind::parser, &operators::parser},
    {StepKind::serializer, &operators::serializer},
    {StepKind::batch, &operators::batch},
    {StepKind::reduce, &operators::reduce},
    {StepKind::route, &operators::route},
    {StepKind::broadcast, &operators::broadcast},
    {StepKind::sink, &operators::sink},
};

}  // namespace

const Operator& operator_for(StepKind kind) {
  for (const Row& row : kOperators) {
    if (row.kind == kind) return row.op();
  }
  std::abort();  // a kind the config reader knows has a row here
}

}  // namespace streams::pipeline
