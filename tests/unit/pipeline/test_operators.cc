#define BOOST_TEST_MODULE operators
#include <boost/test/unit_test.hpp>

#include <streams/plugin_abi.h>

#include "config/pipeline_config.h"
#include "pipeline/generation.h"
#include "pipeline/operator.h"

using namespace streams;
using config::StepKind;

namespace {

constexpr StepKind kAll[] = {StepKind::map,           StepKind::filter, StepKind::flat_map,
                             StepKind::header_filter, StepKind::parser, StepKind::serializer,
                             StepKind::batch,         StepKind::reduce, StepKind::route,
                             StepKind::broadcast,     StepKind::sink};

}  // namespace

// The table has a row for every kind the config reader knows, and the
// operator runs a plugin function exactly where the reader asks for one.
BOOST_AUTO_TEST_CASE(every_kind_has_an_operator_that_agrees_with_the_config) {
  for (StepKind kind : kAll) {
    const pipeline::Operator& op = pipeline::operator_for(kind);
    BOOST_TEST_CONTEXT(config::to_string(kind)) {
      BOOST_TEST((op.function_kind() != 0) == config::uses_plugin(kind));
      BOOST_TEST(op.selects_branch() == (kind == StepKind::route));
      BOOST_TEST(op.order_free() == (kind != StepKind::batch && kind != StepKind::reduce));
    }
  }
  BOOST_TEST(pipeline::operator_for(StepKind::filter).function_kind() == STREAMS_KIND_FILTER);
  BOOST_TEST(pipeline::operator_for(StepKind::reduce).function_kind() == STREAMS_KIND_AGGREGATE);
}

// Which records a plugin call may emit, by kind.
BOOST_AUTO_TEST_CASE(emit_rules_follow_the_kind) {
  const auto& map = pipeline::operator_for(StepKind::map);
  BOOST_TEST(map.may_emit(1, false));
  BOOST_TEST(!map.may_emit(2, false));
  BOOST_TEST(pipeline::operator_for(StepKind::flat_map).may_emit(5, false));
  BOOST_TEST(!pipeline::operator_for(StepKind::filter).may_emit(1, false));
  const auto& reduce = pipeline::operator_for(StepKind::reduce);
  BOOST_TEST(reduce.may_emit(3, false));  // the result call
  BOOST_TEST(!reduce.may_emit(1, true));  // init, add, merge
}

// An open batch survives a reload only to a batch of the same settings.
BOOST_AUTO_TEST_CASE(batch_state_carries_over_only_with_the_same_settings) {
  config::StepSpec a, b;
  a.kind = b.kind = StepKind::batch;
  a.max_count = b.max_count = 10;
  pipeline::StepBinding x, y;
  x.spec = &a;
  y.spec = &b;
  const auto& batch = pipeline::operator_for(StepKind::batch);
  BOOST_TEST(batch.same_settings(a, b));
  BOOST_TEST(batch.state_carries_over(x, y));
  b.max_count = 11;
  BOOST_TEST(!batch.same_settings(a, b));
  BOOST_TEST(!batch.state_carries_over(x, y));
  b.max_count = 10;
  b.format = config::Codec::msgpack;
  BOOST_TEST(!batch.state_carries_over(x, y));
}

// Reduce windows also need the same plugin instances: an accumulator's bytes
// belong to the function that made them.
BOOST_AUTO_TEST_CASE(reduce_state_needs_the_same_settings_and_function) {
  config::StepSpec a, b;
  a.kind = b.kind = StepKind::reduce;
  a.window = b.window = {false, 4, 4};
  pipeline::StepBinding x, y;
  x.spec = &a;
  y.spec = &b;
  x.config_json = y.config_json = "{}";
  const auto& reduce = pipeline::operator_for(StepKind::reduce);
  BOOST_TEST(reduce.state_carries_over(x, y));
  y.config_json = "{\"n\": 1}";
  BOOST_TEST(!reduce.state_carries_over(x, y));
  y.config_json = "{}";
  b.window.slide = 2;
  BOOST_TEST(!reduce.same_settings(a, b));
  BOOST_TEST(!reduce.state_carries_over(x, y));
}

// A header filter's settings are its header and value; a map has none.
BOOST_AUTO_TEST_CASE(settings_are_the_kinds_own) {
  config::StepSpec a, b;
  a.header = b.header = "h";
  a.header_value = "x";
  b.header_value = "y";
  BOOST_TEST(!pipeline::operator_for(StepKind::header_filter).same_settings(a, b));
  BOOST_TEST(pipeline::operator_for(StepKind::map).same_settings(a, b));
  a.format = config::Codec::msgpack;
  BOOST_TEST(!pipeline::operator_for(StepKind::parser).same_settings(a, b));
}
