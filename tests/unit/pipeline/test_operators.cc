#define BOOST_TEST_MODULE operators
#include <boost/test/unit_test.hpp>

#include <set>
#include <string>

#include <streams/plugin_abi.h>

#include "pipeline/generation.h"
#include "pipeline/operator.h"
#include "pipeline/operators/batch.h"
#include "pipeline/operators/codec_steps.h"
#include "pipeline/operators/header_filter.h"
#include "pipeline/operators/reduce.h"
#include "pipeline/pane_queue.h"

using namespace streams;
using pipeline::operators::BatchSettings;
using pipeline::operators::ReduceSettings;

namespace {

const char* const kKinds[] = {"map",    "filter",     "flat_map", "header_filter",
                              "parser", "serializer", "batch",    "reduce",
                              "route",  "broadcast",  "sink"};
const std::set<std::string> kFunctionKinds = {"map", "filter", "flat_map", "route", "reduce"};

const pipeline::Operator& op(const char* name) {
  const pipeline::Operator* found = pipeline::find_operator(name);
  BOOST_REQUIRE_MESSAGE(found, name);
  return *found;
}

// Step `a` before a reload and `b` after it, bound as x and y, with settings
// of type S to change.
template <class S>
struct Before {
  std::shared_ptr<S> before = std::make_shared<S>(), after = std::make_shared<S>();
  config::StepSpec a, b;
  pipeline::StepBinding x, y;
  Before() {
    a.settings = before;
    b.settings = after;
    x.spec = &a;
    y.spec = &b;
  }
};

}  // namespace

// The table names every kind the pipeline file may use, once, and each
// operator is found by its own name.
BOOST_AUTO_TEST_CASE(the_table_names_every_kind) {
  const config::StepTypes& types = pipeline::step_types();
  BOOST_TEST(types.names() ==
             "map, filter, flat_map, header_filter, parser, serializer, batch, reduce, route, "
             "broadcast, sink");
  for (const char* kind : kKinds) {
    BOOST_TEST_CONTEXT(kind) {
      BOOST_TEST(types.find(kind) == &op(kind));
      BOOST_TEST(op(kind).name() == std::string(kind));
    }
  }
  BOOST_TEST(!types.find("mapp"));
}

// What each kind is: runs a function, branches, ends in a sink, orders its
// records.
BOOST_AUTO_TEST_CASE(each_kind_says_what_it_is) {
  for (const char* kind : kKinds) {
    const std::string k = kind;
    BOOST_TEST_CONTEXT(kind) {
      BOOST_TEST(op(kind).uses_function() == (kFunctionKinds.count(k) == 1));
      BOOST_TEST(op(kind).branching() == (k == "route" || k == "broadcast"));
      BOOST_TEST(op(kind).is_sink() == (k == "sink"));
      BOOST_TEST(op(kind).selects_branch() == (k == "route"));
      BOOST_TEST(op(kind).order_free() == (k != "batch" && k != "reduce"));
    }
  }
  BOOST_TEST(op("filter").function_kind() == STREAMS_KIND_FILTER);
  BOOST_TEST(op("reduce").function_kind() == STREAMS_KIND_AGGREGATE);
}

// Which records a plugin call may emit, by kind.
BOOST_AUTO_TEST_CASE(emit_rules_follow_the_kind) {
  BOOST_TEST(op("map").emit_limit() == 1u);
  BOOST_TEST(op("flat_map").emit_limit() == pipeline::Operator::kNoCount);
  BOOST_TEST(op("filter").emit_limit() == 0u);
  BOOST_TEST(op("route").emit_limit() == 0u);
  BOOST_TEST(op("reduce").emit_limit() == pipeline::Operator::kNoCount);  // the result call
  BOOST_TEST(op("filter").may_drop());
  BOOST_TEST(!op("map").may_drop());
  BOOST_TEST(op("map").done_after_emitting() == 1u);
  BOOST_TEST(op("flat_map").done_after_emitting() == pipeline::Operator::kNoCount);
}

// An open batch survives a reload only to a batch of the same settings.
BOOST_AUTO_TEST_CASE(batch_state_carries_over_only_with_the_same_settings) {
  Before<BatchSettings> s;
  s.before->max_count = s.after->max_count = 10;
  BOOST_TEST(op("batch").same_settings(s.a, s.b));
  BOOST_TEST(op("batch").state_carries_over(s.x, s.y));
  s.after->max_count = 11;
  BOOST_TEST(!op("batch").same_settings(s.a, s.b));
  BOOST_TEST(!op("batch").state_carries_over(s.x, s.y));
  s.after->max_count = 10;
  s.after->format = config::Codec::msgpack;
  BOOST_TEST(!op("batch").state_carries_over(s.x, s.y));
}

// Reduce windows also need the same plugin instances: an accumulator's bytes
// belong to the function that made them.
BOOST_AUTO_TEST_CASE(reduce_state_needs_the_same_settings_and_function) {
  Before<ReduceSettings> s;
  s.before->window = s.after->window = {false, 4, 4};
  s.x.config_json = s.y.config_json = "{}";
  BOOST_TEST(op("reduce").state_carries_over(s.x, s.y));
  s.y.config_json = "{\"n\": 1}";
  BOOST_TEST(!op("reduce").state_carries_over(s.x, s.y));
  s.y.config_json = "{}";
  s.after->window.slide = 2;
  BOOST_TEST(!op("reduce").same_settings(s.a, s.b));
  BOOST_TEST(!op("reduce").state_carries_over(s.x, s.y));
  s.after->window.slide = 4;
  s.b.group_python = "mod.key";
  BOOST_TEST(!op("reduce").same_settings(s.a, s.b));
}

// A header filter's and a parser's settings are their own; a map has none.
BOOST_AUTO_TEST_CASE(settings_are_the_kinds_own) {
  auto h1 = std::make_shared<pipeline::operators::HeaderFilterSettings>();
  auto h2 = std::make_shared<pipeline::operators::HeaderFilterSettings>();
  h1->header = h2->header = "h";
  h1->value = "x";
  h2->value = "y";
  config::StepSpec a, b;
  a.settings = h1;
  b.settings = h2;
  BOOST_TEST(!op("header_filter").same_settings(a, b));
  h2->value = "x";
  BOOST_TEST(op("header_filter").same_settings(a, b));
  BOOST_TEST(op("map").same_settings(config::StepSpec{}, config::StepSpec{}));
  auto c1 = std::make_shared<pipeline::operators::CodecSettings>();
  auto c2 = std::make_shared<pipeline::operators::CodecSettings>();
  c2->schema_path = "/s.json";
  a.settings = c1;
  b.settings = c2;
  BOOST_TEST(!op("parser").same_settings(a, b));
  BOOST_TEST(op("parser").describe(a) == " json");
}

// A window group's panes: FIFO order through drops, inserts at the front
// into dropped slots and in the middle, and slots reused once drained.
BOOST_AUTO_TEST_CASE(pane_queue_keeps_order_through_drops_and_inserts) {
  pipeline::PaneQueue<std::string> q;
  auto contents = [&] {
    std::string all;
    for (const std::string& s : q) all += s + ",";
    return all;
  };
  for (const char* s : {"a", "b", "c", "d"}) q.emplace_back() = s;
  q.pop_front();
  q.pop_front();
  BOOST_TEST(contents() == "c,d,");
  q.insert(0, "b2");  // into a dropped slot
  BOOST_TEST(contents() == "b2,c,d,");
  BOOST_TEST(q.front() == "b2");
  q.insert(2, "c2");  // the middle
  BOOST_TEST(contents() == "b2,c,c2,d,");
  BOOST_TEST(q[3] == "d");
  BOOST_TEST(q.back() == "d");
  BOOST_TEST(q.size() == 4u);
  q.pop_front();
  q.pop_front();
  q.pop_front();
  q.insert(1, "e");  // the dropped slots are the majority: compacts first
  BOOST_TEST(contents() == "d,e,");
  while (!q.empty()) q.pop_front();
  q.emplace_back() = "f";
  BOOST_TEST(contents() == "f,");
}
