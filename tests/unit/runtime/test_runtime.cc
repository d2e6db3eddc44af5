// The Kafka runtime's loop with a scripted source and sinks that
// acknowledge when told: commits, backpressure, rebalances, swaps and
// shutdown, with no broker. Each script step runs in one poll() on the
// runtime's thread; the runtime stops when the script is done.
#define BOOST_TEST_MODULE runtime
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <thread>

#include "pipeline/swap_mailbox.h"
#include "runtime/kafka_runtime.h"
#include "runtime/threaded_runtime.h"
#include "runtime_fakes.h"
#include "state/store.h"
#include "test_util.h"

using namespace streams;
using namespace streams::testing;

namespace {

// Commits only on revoke and shutdown (the interval is an hour unless a test
// gives one), so what is committed is what the script made committable.
std::string deployment(const std::string& source_extra, int interval_ms = 3600000,
                       const std::string& sink_extra = "") {
  return "pipeline:\n  segments:\n    - steps_config:\n"
         "        in: {bootstrap_servers: [\"x:1\"], commit_interval_ms: " +
         std::to_string(interval_ms) + ", drain_timeout_ms: 50" + source_extra +
         "}\n        out: {bootstrap_servers: [\"x:1\"]" + sink_extra + "}\n";
}

struct Harness {
  TempDir dir;
  plugin::PluginRegistry registry{TEST_PLUGINS_DIR};
  metrics::PipelineMetrics metrics{"test"};
  std::atomic<bool> stop{false};
  FakeSource* source = nullptr;  // owned by the runtime
  AckingSinkMaker sinks;
  std::unique_ptr<kafka::KafkaRuntime> runtime;

  std::unique_ptr<state::Backend> stores = state::memory_backend();  // stateful steps'

  // `sink_extra`: keys of the sink's deployment ("out"); `hold_ms`:
  // RuntimeOptions::backpressure_hold_ms; `sink_bound`: the sinks' own
  // default_max_in_flight_messages.
  explicit Harness(const std::string& steps, const std::string& source_extra = "",
                   int interval_ms = 3600000, const std::string& sink_extra = "",
                   int64_t hold_ms = 1000, uint64_t sink_bound = 0) {
    sinks.own_bound = sink_bound;
    auto owned = std::make_unique<FakeSource>(stop);
    source = owned.get();
    kafka::RuntimeOptions options;
    options.metrics = &metrics;
    options.state = stores.get();
    options.backpressure_hold_ms = hold_ms;
    std::string error;
    runtime = kafka::create_runtime(build(steps, source_extra, interval_ms, sink_extra), options,
                                    std::move(owned), sinks, &error);
    BOOST_REQUIRE_MESSAGE(runtime, error);
  }
  std::shared_ptr<const pipeline::Generation> build(const std::string& steps,
                                                    const std::string& source_extra = "",
                                                    int interval_ms = 3600000,
                                                    const std::string& sink_extra = "") {
    config::Diagnostics diag;
    config::PipelineSpec spec;
    config::DeploymentConfig d;
    BOOST_REQUIRE(load_spec(dir.write("p.yaml", pipeline_yaml(steps)), &spec, diag));
    BOOST_REQUIRE_MESSAGE(
        config::load_deployment_config(
            dir.write("d.yaml", deployment(source_extra, interval_ms, sink_extra)), &d, diag),
        all_errors(diag));
    auto g = pipeline::build_generation(std::move(spec), std::move(d), 0, registry, diag);
    BOOST_REQUIRE_MESSAGE(g, all_errors(diag));
    return g;
  }
  AckingSink& out() { return *sinks.sinks.at(0); }
  // Acknowledges outputs `indexes` of the sink, in that order.
  FakeSource& ack(std::vector<size_t> indexes) {
    return source->then([this, indexes](pipeline::SourceHandler&) {
      for (size_t i : indexes) out().ack(i);
    });
  }
  int run() { return runtime->run(stop); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(an_input_is_committed_once_every_output_before_it_is_acknowledged) {
  Harness h("");
  h.source->assign({0}).records(0, 0, {"a", "b", "c", "d"});
  h.ack({3, 1, 0});          // out of order; "c" (offset 2) never
  BOOST_TEST(h.run() == 1);  // not drained: "c" is unacknowledged
  BOOST_TEST(h.out().values.size() == 4u);
  BOOST_TEST(h.source->commits == (std::vector<Commit>{{0, 2, true}}),
             boost::test_tools::per_element());
  BOOST_TEST(h.source->closed);
}

BOOST_AUTO_TEST_CASE(a_clean_shutdown_commits_everything_and_exits_zero) {
  Harness h("");
  h.source->assign({0, 1}).records(0, 0, {"a", "b"}).records(1, 7, {"c"});
  h.ack({2, 0, 1});
  BOOST_TEST(h.run() == 0);
  BOOST_TEST(h.source->commits == (std::vector<Commit>{{0, 2, true}, {1, 8, true}}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_stop_commits_again_what_an_asynchronous_commit_still_out_sent) {
  Harness h("", "", /*interval_ms=*/1);
  h.source->hold_results = true;  // the periodic commit's result never comes
  h.source->assign({0}).records(0, 0, {"a", "b"});
  h.ack({0, 1});
  h.source->then([](pipeline::SourceHandler&) {
    // Past the commit interval, so the loop turn after this step commits.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(3);
    while (std::chrono::steady_clock::now() < until) {
    }
  });
  BOOST_TEST(h.run() == 0);
  BOOST_TEST(h.source->commits == (std::vector<Commit>{{0, 2, false}, {0, 2, true}}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_partition_pauses_at_its_bound_and_resumes_below_half) {
  Harness h("", ", max_in_flight_messages: 4", 3600000, "", /*hold_ms=*/0);
  // Offsets 0-3 fill the bound; 4 pauses; 5 was fetched before the pause.
  h.source->assign({0}).records(0, 0, {"0", "1", "2", "3", "4", "5"});
  h.source->then([&](pipeline::SourceHandler&) {
    BOOST_TEST(h.out().values.size() == 4u);
    BOOST_TEST(h.source->paused.count(0) == 1u);
    BOOST_TEST(h.out().sealed_partitions == std::vector<int32_t>{0});  // no input comes to fill
  });
  h.ack({0, 1});  // two left in flight: half the bound, not below it
  h.source->then([&](pipeline::SourceHandler&) { BOOST_TEST(h.source->resumes.empty()); });
  h.ack({2});
  h.source->then([&](pipeline::SourceHandler&) {
    BOOST_REQUIRE(h.source->resumes.size() == 1u);
    BOOST_TEST(h.source->resumes[0].first == 0);
    BOOST_TEST(h.source->resumes[0].second == 4);  // the input it could not take
    BOOST_TEST(h.source->paused.empty());
  });
  h.source->records(0, 4, {"4", "5"});
  h.ack({3, 4, 5});
  BOOST_TEST(h.run() == 0);
  BOOST_TEST(h.out().values == (std::vector<std::string>{"0", "1", "2", "3", "4", "5"}),
             boost::test_tools::per_element());
  BOOST_TEST(h.source->commits == (std::vector<Commit>{{0, 6, true}}),
             boost::test_tools::per_element());
  BOOST_TEST(h.metrics.runtime().pauses.value() == 1u);
}

// A paused partition's outputs that its sink holds back (a plugin sink's
// batch filling, a retry's backoff) bring no acknowledgement while the loop
// waits: it waits for records of the other partitions instead.
BOOST_AUTO_TEST_CASE(with_nothing_awaited_a_paused_partition_waits_on_the_source) {
  Harness h("", ", max_in_flight_messages: 2", 3600000, "", /*hold_ms=*/0);
  size_t waits = 0;
  h.source->assign({0, 1}).records(0, 0, {"0", "1", "2"});
  h.source->then([&](pipeline::SourceHandler&) {
    BOOST_TEST(h.source->paused.count(0) == 1u);
    h.out().held_back = true;
    h.out().on_poll = [&] { ++waits; };
  });
  h.source->then([&](pipeline::SourceHandler&) { BOOST_TEST(h.source->last_wait_ms == 5); });
  h.source->records(1, 0, {"a"});
  h.source->then([&](pipeline::SourceHandler&) {
    BOOST_TEST(waits == 0u);
    h.out().held_back = false;
  });
  h.ack({0, 1});
  h.source->records(0, 2, {"2"});
  h.ack({2, 3});
  BOOST_TEST(h.run() == 0);
  BOOST_TEST(h.out().values.size() == 4u);
}

// A plugin sink reports from its poll, which comes after the source's
// wait: while its next batches wait for a report, that wait is short, so
// that a write done when no input comes is acknowledged at once rather than
// after the 100 ms. A sink whose sends wait for nothing (Kafka) changes
// nothing.
BOOST_AUTO_TEST_CASE(while_a_sinks_sends_wait_for_a_report_the_loop_waits_on_the_source_briefly) {
  Harness h("");
  auto waited = [&](int ms) {
    return [&h, ms](pipeline::SourceHandler&) { BOOST_TEST(h.source->last_wait_ms == ms); };
  };
  h.source->assign({0}).then(waited(100)).records(0, 0, {"a"}).then(waited(100));
  h.source->then([&](pipeline::SourceHandler&) { h.out().batched = true; });
  h.source->then(waited(2));
  h.source->then([&](pipeline::SourceHandler&) { h.out().held_back = true; });
  h.source->then(waited(100));  // "a" fills a batch: nothing can be reported
  h.source->then([&](pipeline::SourceHandler&) { h.out().held_back = false; });
  h.source->then(waited(2));
  h.ack({0});
  h.source->then(waited(100));
  BOOST_TEST(h.run() == 0);
  BOOST_TEST(h.source->commits == (std::vector<Commit>{{0, 1, true}}),
             boost::test_tools::per_element());
}

// A partition paused at a sink's bound waits for the sink to drop below
// half; when the outputs over that are held back (batches filling), and the
// other partition brings no more input to fill them, the loop sends them.
BOOST_AUTO_TEST_CASE(a_partition_paused_at_a_sinks_bound_gets_what_it_held_back_sent) {
  Harness h("", "", 3600000, ", max_in_flight_messages: 4", /*hold_ms=*/0);
  h.out().held_back = true;
  h.source->assign({0, 1}).records(1, 0, {"a", "b"}).records(0, 0, {"0", "1", "2"});
  h.source->then([&](pipeline::SourceHandler&) {
    BOOST_TEST(h.source->paused.count(0) == 1u);
    BOOST_TEST(h.out().seals == 1u);
    h.out().held_back = false;  // sent
  });
  h.ack({0, 1, 2, 3});
  h.source->records(0, 2, {"2"});
  h.ack({4});
  BOOST_TEST(h.run() == 0);
  BOOST_TEST(h.out().values == (std::vector<std::string>{"a", "b", "0", "1", "2"}),
             boost::test_tools::per_element());
}

namespace {

// Twelve records into a Harness whose bound (of the sink or the partition)
// is 10: at the bound the loop waits on the sink, not on the source, until
// it is below half (acknowledged at the third wait), with no pause, nothing
// dropped, nothing fetched again.
void expect_a_hold_at_ten(Harness& h) {
  h.source->assign({0}).records(0, 0, {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
  size_t waits = 0, source_polls = 0;
  h.out().on_poll = [&] {
    if (++waits == 1) {
      source_polls = h.source->polls;
      BOOST_TEST(h.out().seals == 1u);  // the hold sent what the sink held back
    }
    BOOST_TEST(h.source->polls == source_polls);
    if (waits == 3)
      for (size_t i = 0; i < 6; ++i) h.out().ack(i);
  };
  h.source->records(0, 10, {"10", "11"});
  h.ack({6, 7, 8, 9, 10, 11});
  BOOST_TEST(h.run() == 0);
  BOOST_TEST(waits >= 3u);
  BOOST_TEST(h.out().values.size() == 12u);
  BOOST_TEST(h.source->paused.empty());
  BOOST_TEST(h.source->resumes.empty());
  BOOST_TEST(h.metrics.runtime().pauses.value() == 0u);
  BOOST_TEST(h.metrics.runtime().holds.value() == 1u);
  BOOST_TEST(h.source->commits == (std::vector<Commit>{{0, 12, true}}),
             boost::test_tools::per_element());
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_sink_at_its_bound_holds_the_source_rather_than_pausing_partitions) {
  Harness h("", "", 3600000, ", max_in_flight_messages: 10");
  expect_a_hold_at_ten(h);
}

// A sink's own default bound (a store sink's is larger) applies unless the
// deployment sets max_in_flight_messages.
BOOST_AUTO_TEST_CASE(a_sink_default_bound_applies_unless_the_deployment_sets_one) {
  for (const bool set : {false, true}) {
    Harness h("", "", 3600000, set ? ", max_in_flight_messages: 100" : "", /*hold_ms=*/0,
              /*sink_bound=*/2);
    h.source->assign({0}).records(0, 0, {"0", "1", "2", "3"});
    h.source->then([&](pipeline::SourceHandler&) {
      BOOST_TEST(h.out().values.size() == (set ? 4u : 2u));
      BOOST_TEST(h.source->paused.count(0) == (set ? 0u : 1u));
    });
    if (set) {
      h.ack({0, 1, 2, 3});
    } else {
      h.ack({0, 1});
      h.source->records(0, 2, {"2", "3"});
      h.ack({2, 3});
    }
    BOOST_TEST(h.run() == 0);
    BOOST_TEST(h.out().values == (std::vector<std::string>{"0", "1", "2", "3"}),
               boost::test_tools::per_element());
  }
}

// The only partition at its own bound: nothing could take a record, so the
// loop holds as for a sink, rather than pausing it.
BOOST_AUTO_TEST_CASE(the_only_partition_at_its_bound_holds_the_source) {
  Harness h("", ", max_in_flight_messages: 10");
  expect_a_hold_at_ten(h);
}

BOOST_AUTO_TEST_CASE(a_hold_gives_way_to_pauses_after_backpressure_hold_ms) {
  Harness h("", "", 3600000, ", max_in_flight_messages: 4", /*hold_ms=*/20);
  h.source->assign({0}).records(0, 0, {"0", "1", "2", "3"});
  // Never acknowledged while held: after 20 ms records come again, and the
  // partition pauses at the first it cannot take.
  h.source->records(0, 4, {"4", "5"});
  h.source->then([&](pipeline::SourceHandler&) {
    BOOST_TEST(h.out().values.size() == 4u);
    BOOST_TEST(h.source->paused.count(0) == 1u);
  });
  h.ack({0, 1, 2, 3});
  h.source->then([&](pipeline::SourceHandler&) {
    BOOST_REQUIRE(h.source->resumes.size() == 1u);
    BOOST_TEST(h.source->resumes[0].second == 4);
  });
  h.source->records(0, 4, {"4", "5"});
  h.ack({4, 5});
  BOOST_TEST(h.run() == 0);
  BOOST_TEST(h.out().values == (std::vector<std::string>{"0", "1", "2", "3", "4", "5"}),
             boost::test_tools::per_element());
  BOOST_TEST(h.metrics.runtime().holds.value() == 1u);
  BOOST_TEST(h.metrics.runtime().pauses.value() == 1u);
}

// A commit sends the changelog every key changed since the last one: a
// pipeline with state commits less often unless its source says.
BOOST_AUTO_TEST_CASE(a_pipeline_with_state_commits_every_five_seconds_unless_told) {
  Harness h("");
  auto interval = [&](const std::string& steps, const std::string& source_keys) {
    config::Diagnostics diag;
    config::PipelineSpec spec;
    config::DeploymentConfig d;
    BOOST_REQUIRE(load_spec(h.dir.write("p2.yaml", pipeline_yaml(steps)), &spec, diag));
    BOOST_REQUIRE(config::load_deployment_config(
        h.dir.write("d2.yaml",
                    "pipeline:\n  segments:\n    - steps_config:\n"
                    "        in: {bootstrap_servers: [\"x:1\"]" +
                        source_keys + "}\n        out: {bootstrap_servers: [\"x:1\"]}\n"),
        &d, diag));
    auto g = pipeline::build_generation(std::move(spec), std::move(d), 0, h.registry, diag);
    BOOST_REQUIRE_MESSAGE(g, all_errors(diag));
    return kafka::commit_interval_ms(*g);
  };
  const std::string stateful =
      "  - {kind: map, name: ops, plugin: testkit, function: state_ops, state: {}}\n";
  BOOST_TEST(interval("", "") == 1000);
  BOOST_TEST(interval(stateful, "") == 5000);
  BOOST_TEST(interval(stateful, ", commit_interval_ms: 1000") == 1000);
  BOOST_TEST(interval("", ", commit_interval_ms: 250") == 250);
}

BOOST_AUTO_TEST_CASE(nothing_is_committed_for_a_lost_assignment) {
  Harness h("");
  h.source->assign({0}).records(0, 0, {"a", "b"});
  h.ack({0, 1});
  h.source->revoke({0}, /*lost=*/true);
  BOOST_TEST(h.run() == 0);
  BOOST_TEST(h.source->commits.empty());
}

BOOST_AUTO_TEST_CASE(a_revoked_partition_is_committed_before_it_goes) {
  Harness h("");
  h.source->assign({0, 1}).records(0, 0, {"a", "b"}).records(1, 0, {"c"});
  h.ack({0, 1, 2});
  h.source->revoke({0}, /*lost=*/false);
  h.source->records(1, 1, {"d"});
  h.ack({3});
  BOOST_TEST(h.run() == 0);
  // Partition 0 on its revoke only; partition 1 at shutdown.
  BOOST_TEST(h.source->commits == (std::vector<Commit>{{0, 2, true}, {1, 2, true}}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_rebalance_in_the_middle_of_a_fetched_batch_and_of_an_open_batch) {
  Harness h(
      "  - {kind: batch, name: b, max_count: 3}\n  - {kind: serializer, name: s, format: "
      "msgpack}\n");
  h.source->assign({0});
  // Two inputs open a batch; the partition goes; a record of it fetched
  // before the revoke arrives after it, and is not processed.
  h.source->then([&](pipeline::SourceHandler& handler) {
    FakeSource::send(handler, 0, 0, "\"a\"");
    FakeSource::send(handler, 0, 1, "\"b\"");
    const int32_t zero = 0;
    handler.on_revoked(&zero, 1, false);
    h.source->assigned.erase(0);
    FakeSource::send(handler, 0, 2, "\"c\"");
  });
  h.source->then([&](pipeline::SourceHandler&) {
    BOOST_TEST(h.out().values.empty());     // the open batch was dropped, not emitted
    BOOST_TEST(h.source->commits.empty());  // its inputs are held: nothing committable
  });
  // The partition comes back and is read again from the committed offset.
  h.source->assign({0}).records(0, 0, {"\"a\"", "\"b\"", "\"c\""});
  h.ack({0});
  BOOST_TEST(h.run() == 0);
  BOOST_TEST(h.out().values.size() == 1u);
  BOOST_TEST(h.source->commits == (std::vector<Commit>{{0, 3, true}}),
             boost::test_tools::per_element());
}

// The Kafka source hints the keys of the records it is about to hand over
// (SourceHandler::hint_soon / hint_next), for the partitions' state lookups:
// asked for only by a pipeline with state, and changing nothing, for an
// assigned partition or not.
BOOST_AUTO_TEST_CASE(hints_of_the_next_keys_are_for_state_and_change_nothing) {
  Harness h("  - {kind: map, name: ops, plugin: testkit, function: state_ops, state: {}}\n");
  bool wanted = false;
  h.source->assign({0, 1}).then(
      [&](pipeline::SourceHandler& handler) { wanted = handler.wants_hints(); });
  h.source->hinted(0, {{0, "a", "put a 1"},
                       {7, "x", "put x 9"},  // not assigned: ignored, hints too
                       {1, "b", "put b 2"},
                       {0, "a", "get a"},
                       {1, "b", "get b"},
                       {1, "a", "get a"},  // another partition's state
                       {0, "b", "get b"}});
  h.ack({0, 1, 2, 3, 4, 5});
  BOOST_TEST(h.run() == 0);
  BOOST_TEST(wanted);
  BOOST_TEST(h.out().values == (std::vector<std::string>{"ok", "ok", "1", "2", "(none)", "(none)"}),
             boost::test_tools::per_element());

  Harness stateless("");
  bool asked = true;
  stateless.source->assign({0}).then(
      [&](pipeline::SourceHandler& handler) { asked = handler.wants_hints(); });
  BOOST_TEST(stateless.run() == 0);
  BOOST_TEST(!asked);
}

// The operator's pause: each partition stops at its next input whatever
// its bounds, the sinks' batches go at once, what is in flight completes
// and is committed, nothing resumes while paused (drained or not), a swap
// keeps it paused; resumed, each reads on from the input it stopped at. It
// is not counted as backpressure, and while it lasts the loop waits on the
// source as when nothing is paused.
BOOST_AUTO_TEST_CASE(an_operator_pause_stops_each_partition_at_its_next_input) {
  const std::string steps =
      "  - {kind: map, name: m, plugin: testkit, function: with_config, config: {v: 1}}\n";
  Harness h(steps, "", /*interval_ms=*/1);
  std::future<pipeline::SwapOutcome> swapped;
  h.source->assign({0, 1}).records(0, 0, {"a", "b"});
  h.source->then([&](pipeline::SourceHandler&) { h.runtime->set_paused(true); });
  h.source->records(0, 2, {"c", "d"}).records(1, 0, {"x"});
  h.source->then([&](pipeline::SourceHandler&) {
    BOOST_TEST(h.out().values.size() == 2u);
    BOOST_TEST((h.source->paused == std::set<int32_t>{0, 1}));
    BOOST_TEST(h.out().seals == 1u);
    BOOST_TEST(h.source->commits.empty());  // "a" and "b" wait for their sink
  });
  h.ack({0, 1});
  h.source->then([&](pipeline::SourceHandler&) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(3);
    while (std::chrono::steady_clock::now() < until) {
    }
  });
  h.source->then([&](pipeline::SourceHandler&) {
    BOOST_TEST(h.source->commits == (std::vector<Commit>{{0, 2, false}}),
               boost::test_tools::per_element());
    BOOST_TEST(h.source->resumes.empty());
    BOOST_TEST(h.source->last_wait_ms == 100);
    swapped = h.runtime->swap(h.build(
        "  - {kind: map, name: m, plugin: testkit, function: with_config, config: {v: 2}}\n"));
  });
  h.source->then([&](pipeline::SourceHandler&) {
    BOOST_TEST(swapped.get().ok);
    BOOST_TEST(h.source->resumes.empty());
    h.runtime->set_paused(false);
  });
  h.source->then([](pipeline::SourceHandler&) {});  // the turn that resumes
  h.source->then([&](pipeline::SourceHandler&) {
    // Each from the input it stopped at.
    BOOST_TEST((h.source->resumes == std::vector<std::pair<int32_t, int64_t>>{{0, 2}, {1, 0}}));
    BOOST_TEST(h.source->paused.empty());
  });
  h.source->records(0, 2, {"c", "d"}).records(1, 0, {"x"});
  h.ack({2, 3, 4});
  BOOST_TEST(h.run() == 0);
  BOOST_TEST(h.out().values == (std::vector<std::string>{"a{\"v\":1}", "b{\"v\":1}", "c{\"v\":2}",
                                                         "d{\"v\":2}", "x{\"v\":2}"}),
             boost::test_tools::per_element());
  BOOST_TEST(h.metrics.runtime().pauses.value() == 0u);
}

BOOST_AUTO_TEST_CASE(a_swap_takes_effect_between_two_inputs) {
  const std::string first =
      "  - {kind: map, name: m, plugin: testkit, function: with_config, config: {v: 1}}\n";
  const std::string second =
      "  - {kind: map, name: m, plugin: testkit, function: with_config, config: {v: 2}}\n";
  Harness h(first);
  std::future<pipeline::SwapOutcome> swapped;
  h.source->assign({0}).records(0, 0, {"a", "b"});
  h.source->then([&](pipeline::SourceHandler&) { swapped = h.runtime->swap(h.build(second)); });
  h.source->records(0, 2, {"c"});
  h.source->then([&](pipeline::SourceHandler&) {
    BOOST_REQUIRE((swapped.wait_for(std::chrono::seconds(0)) == std::future_status::ready));
    const pipeline::SwapOutcome outcome = swapped.get();
    BOOST_TEST(outcome.ok, outcome.error);
    BOOST_REQUIRE(outcome.switch_points.size() == 1u);
    BOOST_TEST(outcome.switch_points[0].second == 2);  // the first offset the new one runs
  });
  h.ack({0, 1, 2});
  BOOST_TEST(h.run() == 0);
  BOOST_TEST(h.out().values == (std::vector<std::string>{"a{\"v\":1}", "b{\"v\":1}", "c{\"v\":2}"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_swap_after_the_runtime_stopped_is_refused) {
  Harness h("");
  h.source->assign({0});
  BOOST_TEST(h.run() == 0);
  auto refused = h.runtime->swap(h.build("")).get();
  BOOST_TEST(!refused.ok);
  BOOST_TEST(refused.error == "the host is stopping");
}

BOOST_AUTO_TEST_CASE(shutdown_gives_up_after_the_drain_timeout_and_commits_nothing_unacknowledged) {
  Harness h("");
  h.source->assign({0}).records(0, 0, {"a"});
  const auto started = std::chrono::steady_clock::now();
  BOOST_TEST(h.run() == 1);
  BOOST_TEST(h.source->commits.empty());
  BOOST_TEST(h.source->closed);
  // drain_timeout_ms is 50: it waited for it, and not for ever.
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  BOOST_TEST(waited.count() >= 50);
}

// Two processing threads swap together or not at all: a swap given up
// (the reload's timeout) is refused in both, wherever each one was, and a
// good one switches both (thread 2 holds no partition and waits for 1).
BOOST_AUTO_TEST_CASE(processing_threads_swap_together_or_not_at_all) {
  const std::string first =
      "  - {kind: map, name: m, plugin: testkit, function: with_config, config: {v: 1}}\n";
  const std::string second =
      "  - {kind: map, name: m, plugin: testkit, function: with_config, config: {v: 3}}\n";
  Harness one(first), two(first);
  std::vector<std::unique_ptr<kafka::KafkaRuntime>> threads;
  threads.push_back(std::move(one.runtime));
  threads.push_back(std::move(two.runtime));
  auto runtime = kafka::threaded_runtime(std::move(threads));
  std::future<pipeline::SwapOutcome> swapped;
  auto outcome = [&] {
    BOOST_REQUIRE((swapped.wait_for(std::chrono::seconds(30)) == std::future_status::ready));
    return swapped.get();
  };
  one.source->assign({0}).records(0, 0, {"a"});
  one.source->then([&](pipeline::SourceHandler&) {
    swapped = runtime->swap(one.build(second));
    BOOST_TEST(runtime->cancel_swap("gave up"));  // thread 1 has not taken it yet
  });
  one.source->then([&](pipeline::SourceHandler&) {
    const pipeline::SwapOutcome refused = outcome();
    BOOST_TEST(!refused.ok);
    BOOST_TEST(refused.error == "processing thread 1: gave up", refused.error);
    swapped = runtime->swap(one.build(second));
  });
  one.source->then([&](pipeline::SourceHandler&) {
    const pipeline::SwapOutcome applied = outcome();
    BOOST_TEST(applied.ok, applied.error);
    BOOST_TEST(applied.switch_points.size() == 1u);  // thread 1's partition
    BOOST_TEST(!runtime->cancel_swap("too late"));
  });
  one.source->records(0, 1, {"b"});
  one.ack({0, 1});
  BOOST_TEST(runtime->run(one.stop) == 0);
  BOOST_TEST(one.out().values == (std::vector<std::string>{"a{\"v\":1}", "b{\"v\":3}"}),
             boost::test_tools::per_element());
  BOOST_TEST(one.source->closed);
  BOOST_TEST(two.source->closed);
}

// A thread whose successors cannot be built fails the swap for a thread
// already waiting to switch; a refused post fails it too.
BOOST_AUTO_TEST_CASE(a_thread_that_cannot_build_fails_the_swap_of_the_others) {
  auto barrier = std::make_shared<pipeline::SwapBarrier>(2);
  pipeline::SwapMailbox builds, cannot;
  auto waiting = builds.post(nullptr, barrier);
  auto failing = cannot.post(nullptr, barrier);
  builds.take();
  cannot.take();
  std::string why;
  std::thread other([&] {
    pipeline::SwapOutcome outcome;
    if (builds.may_switch(&outcome.error)) outcome.ok = true;
    why = outcome.error;
    builds.answer(std::move(outcome));
  });
  pipeline::SwapOutcome failed;
  failed.error = "partition 3: cannot create";
  cannot.answer(std::move(failed));
  other.join();
  BOOST_TEST(why == "partition 3: cannot create");
  BOOST_TEST(!waiting.get().ok);
  BOOST_TEST(!failing.get().ok);

  auto next = std::make_shared<pipeline::SwapBarrier>(2);
  cannot.close();
  BOOST_TEST(cannot.post(nullptr, next).get().error == "the host is stopping");
  BOOST_TEST(!next->arrive(&why));
  BOOST_TEST(why == "the host is stopping");
}

// A swap given up while building is answered at once; a retry posted
// before the processing thread lets go of it waits behind it and is taken
// next, while a post during a live build is refused.
BOOST_AUTO_TEST_CASE(a_retry_waits_behind_a_swap_given_up_while_building) {
  pipeline::SwapMailbox mailbox;
  auto given_up = mailbox.post(nullptr);
  mailbox.take();
  BOOST_TEST(mailbox.post(nullptr).get().error == "another reload is being applied");
  BOOST_TEST(mailbox.cancel("gave up"));
  BOOST_TEST(!mailbox.cancel("twice"));
  BOOST_TEST(given_up.get().error == "gave up");

  auto retry = mailbox.post(nullptr);
  BOOST_TEST(mailbox.pending());
  std::string why;
  BOOST_TEST(!mailbox.may_switch(&why));  // the given-up build winds down
  BOOST_TEST(why == "gave up");
  pipeline::SwapOutcome failed;
  failed.error = why;
  mailbox.answer(std::move(failed));
  BOOST_TEST((retry.wait_for(std::chrono::seconds(0)) == std::future_status::timeout));

  BOOST_TEST(mailbox.pending());
  mailbox.take();
  BOOST_TEST(mailbox.may_switch(&why));
  BOOST_TEST(!mailbox.cancel("too late"));
  pipeline::SwapOutcome ok;
  ok.ok = true;
  mailbox.answer(std::move(ok));
  BOOST_TEST(retry.get().ok);
}

// Threads leave the group together: the first to arrive stops the others,
// and each waits for all (or its timeout) before closing its consumer.
BOOST_AUTO_TEST_CASE(processing_threads_leave_the_group_together) {
  kafka::LeaveTogether leave(2);
  std::atomic<int> stops{0};
  leave.on_first([&] { stops.fetch_add(1); });
  BOOST_TEST(!leave.arrive(0, 1));  // thread 2 has not arrived: the timeout
  BOOST_TEST(stops.load() == 1);
  bool together = false;
  std::thread second([&] { together = leave.arrive(1, 30000); });
  BOOST_TEST(leave.arrive(0, 30000));
  second.join();
  BOOST_TEST(together);
  BOOST_TEST(stops.load() == 1);  // once
}
