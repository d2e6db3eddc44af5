// The metrics a Chain counts per step, their Prometheus text, and the health
// probes read from them.
#define BOOST_TEST_MODULE metrics
#include <algorithm>
#include <boost/algorithm/string/join.hpp>
#include <boost/test/unit_test.hpp>
#include <limits>
#include <thread>

#include "admin/health.h"
#include "admin/health_watch.h"
#include "chain_fixture.h"
#include "common/clock.h"
#include "common/loop_clocks.h"
#include "metrics/exporters.h"
#include "metrics/plugin_metrics.h"
#include "metrics/prometheus.h"

using namespace streams;
using namespace streams::testing;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

// Runs `values` through a Chain of `steps` (before a Kafka sink "out") that
// counts into the returned metrics.
std::unique_ptr<metrics::PipelineMetrics> count_through(const std::string& steps,
                                                        const std::vector<std::string>& values) {
  TempDir dir;
  config::Diagnostics diag;
  auto g = build(dir, steps, TEST_PLUGINS_DIR, diag);
  BOOST_REQUIRE_MESSAGE(g, all_errors(diag));
  auto m = std::make_unique<metrics::PipelineMetrics>("p");
  FakeSink out;
  FakeErrors errors;
  std::string error;
  auto chain = pipeline::Chain::create(g, {&out}, errors, *m, &error);
  BOOST_REQUIRE_MESSAGE(chain, error);
  int64_t offset = 0;
  for (const std::string& value : values) {
    streams_record r{};
    r.struct_size = sizeof(r);
    r.value = view_bytes(value);
    const streams_origin origin{sizeof(streams_origin), "input", 0, offset};
    BOOST_TEST(
        (chain->process(r, origin, static_cast<uint64_t>(offset++)) == pipeline::ChainResult::ok));
  }
  return m;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_chain_counts_records_in_out_and_errors_by_step) {
  const auto m = count_through(
      "  - {kind: filter, name: only_a, plugin: testkit, function: starts_with_a}\n"
      "  - {kind: map, name: up, plugin: testkit, function: upper}\n",
      {"apple", "banana", "", "avocado"});
  const std::string text = metrics::prometheus_text(*m);
  const std::string filter = "{pipeline=\"p\",step=\"only_a\",kind=\"filter\"}";
  BOOST_TEST(has_line(text, "streams_step_records_in_total" + filter + " 4"), text);
  BOOST_TEST(has_line(text, "streams_step_records_out_total" + filter + " 2"), text);
  BOOST_TEST(has_line(text,
                      "streams_step_errors_total{pipeline=\"p\",step=\"only_a\","
                      "error=\"invalid_input\"} 1"),
             text);
  BOOST_TEST(
      has_line(text, "streams_step_records_out_total{pipeline=\"p\",step=\"out\",kind=\"sink\"} 2"),
      text);
  BOOST_TEST(text.find("# TYPE streams_step_records_in_total counter") != std::string::npos);
}

// ABI 1.11: a plugin's own counters, one per step and name for the life of
// the process, in the host's metrics.
BOOST_AUTO_TEST_CASE(a_plugins_counters_are_exported_by_step_and_name) {
  const auto m = count_through(
      "  - {kind: map, name: tally, plugin: testkit, function: counted}\n"
      "  - {kind: map, name: tally_again, plugin: testkit, function: counted}\n",
      {"ab", "cde"});
  const std::string text = metrics::prometheus_text(*m);
  BOOST_TEST(has_line(text, "streams_plugin_records_total{pipeline=\"p\",step=\"tally\"} 2"), text);
  BOOST_TEST(has_line(text, "streams_plugin_records_total{pipeline=\"p\",step=\"tally_again\"} 2"),
             text);
  BOOST_TEST(has_line(text, "streams_plugin_value_bytes_total{pipeline=\"p\",step=\"tally\"} 5"),
             text);
  BOOST_TEST(text.find("# TYPE streams_plugin_records_total counter") != std::string::npos);
  BOOST_TEST(text.find("Not-A-Name") == std::string::npos);
  const auto lines = metrics::dogstatsd_lines(metrics::snapshot(*m), {}, {});
  BOOST_TEST((std::find(lines.begin(), lines.end(),
                        "streams.plugin_records:2|c|#pipeline:p,step:tally") != lines.end()));
  // ABI 1.12: its gauges and histogram.
  BOOST_TEST(has_line(text, "streams_plugin_last_value_bytes{pipeline=\"p\",step=\"tally\"} 3"),
             text);
  BOOST_TEST(text.find("# TYPE streams_plugin_last_value_bytes gauge") != std::string::npos);
  // Each instance added 1 and took it back when the chain went.
  BOOST_TEST(has_line(text, "streams_plugin_instances{pipeline=\"p\",step=\"tally\"} 0"), text);
  const std::string tally = "{pipeline=\"p\",step=\"tally\"";
  BOOST_TEST(text.find("# TYPE streams_plugin_value_sizes histogram") != std::string::npos);
  BOOST_TEST(has_line(text, "streams_plugin_value_sizes_bucket" + tally + ",le=\"1\"} 0"), text);
  BOOST_TEST(has_line(text, "streams_plugin_value_sizes_bucket" + tally + ",le=\"4\"} 2"), text);
  BOOST_TEST(has_line(text, "streams_plugin_value_sizes_bucket" + tally + ",le=\"+Inf\"} 2"), text);
  BOOST_TEST(has_line(text, "streams_plugin_value_sizes_sum" + tally + "} 5"), text);
  BOOST_TEST(has_line(text, "streams_plugin_value_sizes_count" + tally + "} 2"), text);
  // The gauge whose series would be the counter's was refused.
  BOOST_TEST(text.find("# TYPE streams_plugin_records_total gauge") == std::string::npos, text);
  BOOST_TEST(
      (std::find(lines.begin(), lines.end(),
                 "streams.plugin_last_value_bytes:3|g|#pipeline:p,step:tally") != lines.end()));
  // A new instance of the step (a reload, a rebalance) counts on.
  count_through("  - {kind: map, name: tally, plugin: testkit, function: counted}\n", {"f"});
  const std::string again = metrics::prometheus_text(*m);
  BOOST_TEST(has_line(again, "streams_plugin_records_total{pipeline=\"p\",step=\"tally\"} 3"));
  BOOST_TEST(has_line(again, "streams_plugin_value_sizes_bucket" + tally + ",le=\"1\"} 1"), again);
  BOOST_TEST(has_line(again, "streams_plugin_last_value_bytes" + tally + "} 1"), again);
}

// A reload that removes a step: its counters stay (they only grow), its
// gauges go (no plugin serves it, it keeps no state), its plugin's too.
BOOST_AUTO_TEST_CASE(a_step_that_left_the_pipeline_keeps_its_counters_not_its_gauges) {
  const auto m = count_through(
      "  - {kind: map, name: gone, plugin: testkit, function: counted}\n"
      "  - {kind: map, name: stays, plugin: testkit, function: counted}\n",
      {"ab"});
  const std::string gone = "{pipeline=\"p\",step=\"gone\"";
  const std::string before = metrics::prometheus_text(*m);
  BOOST_TEST(before.find("streams_step_info" + gone) != std::string::npos, before);
  BOOST_TEST(has_line(before, "streams_plugin_last_value_bytes" + gone + "} 2"), before);

  m->set_current_steps({"stays", "out"});
  const std::string after = metrics::prometheus_text(*m);
  BOOST_TEST(after.find("streams_step_info" + gone) == std::string::npos, after);
  BOOST_TEST(after.find("streams_plugin_last_value_bytes" + gone) == std::string::npos, after);
  BOOST_TEST(after.find("streams_step_info{pipeline=\"p\",step=\"stays\"") != std::string::npos,
             after);
  BOOST_TEST(has_line(after, "streams_plugin_last_value_bytes{pipeline=\"p\",step=\"stays\"} 2"),
             after);
  BOOST_TEST(has_line(after, "streams_step_records_in_total" + gone + ",kind=\"map\"} 1"), after);
  BOOST_TEST(has_line(after, "streams_plugin_records_total" + gone + "} 1"), after);
  const auto lines = metrics::dogstatsd_lines(metrics::snapshot(*m), {}, {});
  for (const std::string& line : lines) {
    BOOST_TEST(
        !(line.find("step:gone") != std::string::npos && line.find("|g|") != std::string::npos),
        line);
  }
  // Back in the pipeline (a later reload), its gauges are exported again.
  m->set_current_steps({"gone", "stays", "out"});
  BOOST_TEST(metrics::prometheus_text(*m).find("streams_step_info" + gone) != std::string::npos);
}

// ABI 1.12: gauges and histograms share the counters' names, one kind a name.
BOOST_AUTO_TEST_CASE(gauges_histograms_and_clashing_names) {
  metrics::PluginMetrics m;
  std::string why;
  const uint32_t g = m.gauge("s", "depth", &why);
  BOOST_TEST(g != 0u);
  BOOST_TEST(m.gauge("s", "depth", &why) == g);
  BOOST_TEST(m.gauge("t", "depth", &why) != g);  // another step's
  m.set(g, 5);
  m.add_to(g, -1.5);
  m.set(0, 9);  // refused handles keep nothing
  double depth = 0;
  m.each_gauge([&](const std::string& family, const std::string& step, double v) {
    if (family == "plugin_depth" && step == "s") depth = v;
  });
  BOOST_TEST(depth == 3.5);

  // A name is one kind, in any step; so are the series a histogram writes.
  BOOST_TEST(m.counter("s", "hits", &why) != 0u);
  why.clear();
  BOOST_TEST(m.gauge("u", "hits_total", &why) == 0u);
  BOOST_TEST(why == "gauge 'hits_total' refused: streams_plugin_hits_total is the counter 'hits'");
  BOOST_TEST(m.histogram("s", "depth", nullptr, 0, &why) == 0u);
  BOOST_TEST(why == "histogram 'depth' refused: a gauge has the name");
  why.clear();
  BOOST_TEST(m.gauge("s", "hits", &why) == 0u);  // DogStatsD: streams.plugin_hits, both
  BOOST_TEST(why == "gauge 'hits' refused: a counter has the name");
  why.clear();  // each refusal is told once, whatever else the step was told
  BOOST_TEST(m.histogram("s", "hits", nullptr, 0, &why) == 0u);
  BOOST_TEST(why == "histogram 'hits' refused: a counter has the name");
  const uint32_t h = m.histogram("s", "wait", nullptr, 0, &why);
  BOOST_TEST(h != 0u);
  why.clear();
  BOOST_TEST(m.gauge("s", "wait_sum", &why) == 0u);
  BOOST_TEST(why.find("streams_plugin_wait_sum is the histogram 'wait'") != std::string::npos, why);
  BOOST_TEST(m.histogram("s", "wait_count", nullptr, 0, &why) == 0u);

  // Bounds: finite, ascending, at most 16; the first ones are kept.
  const double bad[][3] = {{1, 1, 2}, {2, 1, 3}, {1, 2, std::numeric_limits<double>::infinity()}};
  for (const auto& b : bad) {
    const std::string name = "bad" + std::to_string(&b - bad);  // each told once
    why.clear();
    BOOST_TEST(m.histogram("s", name, b, 3, &why) == 0u);
    BOOST_TEST(why.find("histogram '" + name + "' refused") != std::string::npos, why);
  }
  const std::vector<double> many(17, 1);
  BOOST_TEST(m.histogram("s", "many", many.data(), many.size(), &why) == 0u);
  const double bounds[] = {1, 10};
  const uint32_t sizes = m.histogram("s", "sizes", bounds, 2, &why);
  BOOST_TEST(sizes != 0u);
  const double other[] = {1, 100};
  why.clear();
  BOOST_TEST(m.histogram("s", "sizes", other, 2, &why) == sizes);
  BOOST_TEST(why.find("keeps the bucket bounds it was made with") != std::string::npos, why);
  for (double v : {0.5, 1.0, 2.0, 10.0, 11.0, std::numeric_limits<double>::quiet_NaN()}) {
    m.observe(sizes, v);
  }
  m.observe(0, 1);
  m.observe(h, 0.003);
  std::vector<uint64_t> buckets, waits;
  double sum = 0;
  m.each_histogram([&](const std::string& family, const std::string&, const std::vector<double>& b,
                       const std::vector<uint64_t>& counts, double total) {
    if (family == "plugin_sizes") {
      BOOST_TEST(b == std::vector<double>({1, 10}), boost::test_tools::per_element());
      buckets = counts;
      sum = total;
    }
    if (family == "plugin_wait") {
      BOOST_TEST(b == metrics::PluginMetrics::default_bounds(), boost::test_tools::per_element());
      waits = counts;
    }
  });
  BOOST_TEST(buckets == std::vector<uint64_t>({2, 2, 1}), boost::test_tools::per_element());
  BOOST_TEST(sum == 24.5);
  BOOST_TEST(waits.at(2) == 1u);  // 0.003 is in (0.0025, 0.005]
}

// Instances on several threads update one gauge and one histogram.
BOOST_AUTO_TEST_CASE(gauges_and_histograms_from_several_threads) {
  metrics::PluginMetrics m;
  std::string why;
  const uint32_t g = m.gauge("s", "held", &why);
  const double bounds[] = {1};
  const uint32_t h = m.histogram("s", "ones", bounds, 1, &why);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        m.add_to(g, 1);
        m.observe(h, 1);
      }
    });
  }
  for (auto& t : threads) t.join();
  m.each_gauge([](const std::string&, const std::string&, double v) { BOOST_TEST(v == 40000); });
  m.each_histogram([](const std::string&, const std::string&, const std::vector<double>&,
                      const std::vector<uint64_t>& counts, double sum) {
    BOOST_TEST(counts[0] == 40000u);
    BOOST_TEST(sum == 40000);
  });
}

BOOST_AUTO_TEST_CASE(counter_names_and_the_bound) {
  metrics::PluginMetrics counters;
  std::string why;
  const uint32_t a = counters.counter("s", "hits", &why);
  BOOST_TEST(a != 0u);
  BOOST_TEST(counters.counter("s", "hits", &why) == a);
  BOOST_TEST(counters.counter("t", "hits", &why) != a);
  for (const char* bad : {"", "Hits", "a-b", "a.b", "\xc3\xa9"}) {
    why.clear();
    BOOST_TEST(counters.counter("s", bad, &why) == 0u);
    BOOST_TEST(why.find("expected 1 to 64 of a-z, 0-9 and _") != std::string::npos, why);
    why.clear();
    counters.counter("s", bad, &why);
    BOOST_TEST(why.empty());  // told once
  }
  BOOST_TEST(counters.counter("s", std::string(65, 'a'), &why) == 0u);
  BOOST_TEST(counters.counter("s", std::string(64, 'a'), &why) != 0u);
  counters.add(a, 5);
  counters.add(0, 7);       // refused handles count nothing
  counters.add(100000, 7);  // nor do unknown ones
  for (size_t i = 0; i < metrics::PluginMetrics::kCounters; ++i) {
    counters.counter("fill", "c" + std::to_string(i), &why);
  }
  why.clear();
  BOOST_TEST(counters.counter("late", "one", &why) == 0u);
  BOOST_TEST(why.find("the host's 256 plugin counters are taken") != std::string::npos, why);
  uint64_t hits = 0;
  size_t made = 0;
  counters.each_counter([&](const std::string& family, const std::string& step, uint64_t n) {
    ++made;
    if (family == "plugin_hits_total" && step == "s") hits = n;
  });
  BOOST_TEST(hits == 5u);
  BOOST_TEST(made == metrics::PluginMetrics::kCounters);
}

BOOST_AUTO_TEST_CASE(health_follows_the_loop_the_assignment_and_the_commits) {
  metrics::PipelineMetrics m("p");
  metrics::RuntimeMetrics& r = m.runtime();
  admin::Health health(m, {1000, 2000});
  BOOST_TEST(health.live().ok);  // not started yet: live, not ready
  BOOST_TEST(health.ready().body.find("starting") != std::string::npos);

  const int64_t now = steady_ms();
  r.loop_ms.set(static_cast<uint64_t>(now));
  BOOST_TEST(health.ready().body.find("joining the group") != std::string::npos);
  r.group_joined.set(1);  // a member with no partitions: a standby, ready to take some
  const admin::HealthAnswer standby = health.ready();
  BOOST_TEST(standby.ok);
  BOOST_TEST(standby.body == R"({"ok": true, "standby": "no partitions assigned"})");
  r.assigned_partitions.set(2);
  BOOST_TEST(health.ready().body.find("no commit cycle for ever") != std::string::npos);
  r.commit_checked_ms.set(static_cast<uint64_t>(wall_ms()));
  BOOST_TEST(health.ready().ok);
  r.commit_checked_ms.set(static_cast<uint64_t>(wall_ms() - 5000));
  BOOST_TEST(!health.ready().ok);
  r.commit_checked_ms.set(static_cast<uint64_t>(wall_ms()));

  r.loop_ms.set(static_cast<uint64_t>(now - 5000));  // the loop stalls
  const admin::HealthAnswer live = health.live();
  BOOST_TEST(!live.ok);
  BOOST_TEST(live.body.find("has not turned for") != std::string::npos);
  BOOST_TEST(!health.ready().ok);
  BOOST_TEST(admin::thread_states().find("thread ") != std::string::npos);
}

// A source topic the brokers say is missing (or not to be read): no member
// joins, and the wait is no benign one; a standby as much.
BOOST_AUTO_TEST_CASE(a_missing_source_topic_is_not_ready_and_says_which) {
  metrics::PipelineMetrics m("p");
  m.set_source("clicks", "g");
  metrics::RuntimeMetrics& r = m.runtime();
  admin::Health health(m, {1000, 2000});
  r.loop_ms.set(static_cast<uint64_t>(steady_ms()));
  r.topic_unavailable.set(1);
  admin::HealthAnswer answer = health.ready();
  BOOST_TEST((!answer.ok && !answer.benign));
  BOOST_TEST(answer.reason == "the source topic clicks does not exist on its brokers");
  r.group_joined.set(1);  // joined, then the topic went
  BOOST_TEST(!health.ready().ok);
  r.topic_unavailable.set(2);
  BOOST_TEST(health.ready().reason == "this host may not read the source topic clicks");
  r.topic_unavailable.set(0);     // assigned since: the topic is there
  BOOST_TEST(health.ready().ok);  // a standby
}

BOOST_AUTO_TEST_CASE(health_marks_joining_and_a_restore_as_benign) {
  metrics::PipelineMetrics m("p");
  metrics::RuntimeMetrics& r = m.runtime();
  admin::Health health(m, {1000, 2000});
  BOOST_TEST(!health.ready().benign);  // starting
  r.loop_ms.set(static_cast<uint64_t>(steady_ms()));
  const admin::HealthAnswer joining = health.ready();
  BOOST_TEST((joining.benign && joining.reason == "joining the group"));
  r.group_joined.set(1);
  r.assigned_partitions.set(1);
  r.restoring_partitions.set(1);
  BOOST_TEST(health.ready().benign);
  r.restoring_partitions.set(0);
  const admin::HealthAnswer no_commit = health.ready();
  BOOST_TEST((!no_commit.ok && !no_commit.benign));
  BOOST_TEST(no_commit.reason.find("no commit cycle") == 0u);
}

admin::HealthAnswer failing(const std::string& reason) { return {false, "", reason, false}; }

BOOST_AUTO_TEST_CASE(a_lasting_failure_is_one_error_and_its_end_one_info) {
  admin::HealthWatch watch(60000);
  BOOST_TEST(watch.period_ms() == 1000);
  const admin::HealthAnswer ready{true, "", "", false};
  BOOST_TEST(!watch.observe(ready, 0));
  BOOST_TEST(!watch.observe(failing("no commit cycle for 61000 ms"), 1000));
  BOOST_TEST(!watch.observe(failing("no commit cycle for 120000 ms"), 60999));
  auto line = watch.observe(failing("sink out has had outputs waiting"), 61000);
  BOOST_TEST_REQUIRE(line.has_value());
  BOOST_TEST((line->level == log::Level::error));
  BOOST_TEST(line->text == "not ready for 60 s: sink out has had outputs waiting");
  BOOST_TEST(!watch.observe(failing("sink out has had outputs waiting"), 200000));  // said once
  line = watch.observe(ready, 241000);
  BOOST_TEST_REQUIRE(line.has_value());
  BOOST_TEST((line->level == log::Level::info));
  BOOST_TEST(line->text ==
             "ready again after 240 s not ready (last: sink out has had outputs "
             "waiting)");
  // A new failure starts its own count; a short one says nothing.
  BOOST_TEST(!watch.observe(failing("starting"), 250000));
  BOOST_TEST(!watch.observe(ready, 300000));
  BOOST_TEST(!watch.observe(failing("starting"), 310000));
  BOOST_TEST(watch.observe(failing("starting"), 370000).has_value());
}

BOOST_AUTO_TEST_CASE(a_watch_measures_how_long_even_when_it_logs_nothing) {
  admin::HealthWatch watch(0);
  BOOST_TEST(watch.period_ms() == 1000);
  BOOST_TEST(!watch.observe(failing("starting"), 1000));
  BOOST_TEST(!watch.observe(failing("starting"), 3600000));
  BOOST_TEST(watch.not_ready_ms(3600000) == 3599000);
  BOOST_TEST(!watch.observe({true, "", "", false}, 3601000));  // nothing was said
  BOOST_TEST(watch.not_ready_ms(3601000) == 0);
}

BOOST_AUTO_TEST_CASE(a_benign_wait_neither_counts_nor_hides_the_end) {
  admin::HealthWatch watch(1000);
  BOOST_TEST(watch.period_ms() == 100);
  const admin::HealthAnswer joining{false, "", "joining the group", true};
  BOOST_TEST(!watch.observe(joining, 0));
  BOOST_TEST(!watch.observe(joining, 100000));
  BOOST_TEST(!watch.observe(failing("starting"), 100000));
  BOOST_TEST(watch.observe(failing("starting"), 101000).has_value());
  const auto line = watch.observe(joining, 102000);
  BOOST_TEST_REQUIRE(line.has_value());
  BOOST_TEST(line->text ==
             "no longer failing after 2 s not ready (last: starting); now: joining the group");
}

BOOST_AUTO_TEST_CASE(dogstatsd_sends_counter_increases_and_gauges_with_tags) {
  metrics::PipelineMetrics m("p");
  m.runtime().consumed.add(5);
  m.runtime().assigned_partitions.set(3);
  config::MetricsDeployment d;
  d.tags = {{"env", "test"}};
  const auto first = metrics::snapshot(m);
  auto lines = metrics::dogstatsd_lines(first, {}, d);
  auto has = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  BOOST_TEST(has("streams.consumed:5|c|#env:test,pipeline:p"));
  BOOST_TEST(has("streams.assigned_partitions:3|g|#env:test,pipeline:p"));
  m.runtime().consumed.add(2);
  lines = metrics::dogstatsd_lines(metrics::snapshot(m), first, d);
  BOOST_TEST(has("streams.consumed:2|c|#env:test,pipeline:p"));    // the increase
  BOOST_TEST(!has("streams.delivered:0|c|#env:test,pipeline:p"));  // nothing new: not sent
}

// A histogram goes as distribution values: one a bucket that gained
// observations since the last send, weighed by their count.
BOOST_AUTO_TEST_CASE(dogstatsd_sends_histograms_as_weighed_distribution_values) {
  metrics::PipelineMetrics m("p");
  metrics::Histogram& h = m.runtime().process_seconds;  // bounds ..., 1e-3, 1e-2, 0.1
  for (int i = 0; i < 3; ++i) h.observe(0.004);
  const auto first = metrics::snapshot(m);
  auto lines = metrics::dogstatsd_lines(first, {}, {});
  auto has = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  // One bucket gained all three: their mean, counted three times.
  BOOST_TEST(has("streams.process_seconds:0.004|d|@0.333333333|#pipeline:p"),
             boost::algorithm::join(lines, "\n"));
  // Nothing new: nothing sent.
  lines = metrics::dogstatsd_lines(first, first, {});
  for (const std::string& line : lines) BOOST_TEST(line.find("|d") == std::string::npos, line);
  // Two buckets and the one above every bound: each its midpoint, and above
  // the last bound the rest of the sum.
  h.observe(0.05);
  h.observe(0.07);
  h.observe(0.5);
  lines = metrics::dogstatsd_lines(metrics::snapshot(m), first, {});
  BOOST_TEST(has("streams.process_seconds:0.055|d|@0.4999999995|#pipeline:p"),
             boost::algorithm::join(lines, "\n"));
  BOOST_TEST(has("streams.process_seconds:0.51|d|#pipeline:p"),
             boost::algorithm::join(lines, "\n"));
  size_t sent = 0;
  for (const std::string& line : lines) sent += line.find("|d") != std::string::npos;
  BOOST_TEST(sent == 2u);
  // The original's names only: no distributions (it has no counterpart).
  config::MetricsDeployment original;
  original.streams_names = false;
  original.original_names = true;
  for (const std::string& line : metrics::dogstatsd_lines(metrics::snapshot(m), {}, original)) {
    BOOST_TEST(line.find("|d") == std::string::npos, line);
  }
}

BOOST_AUTO_TEST_CASE(dogstatsd_sends_the_originals_names_when_asked) {
  metrics::PipelineMetrics m("p");
  m.set_source("in", "group");
  metrics::StepMetrics& s = m.step("f", "filter", {});
  s.records_in.add(4);
  s.errors[metrics::error_kind_index(STREAMS_ERR_INVALID_INPUT)].add(1);
  m.runtime().commit_latency_ms.set(1500);
  m.runtime().commit_latency_at_ms.set(1);
  config::MetricsDeployment d;
  d.streams_names = false;
  d.original_names = true;
  const auto first = metrics::snapshot(m);
  auto lines = metrics::dogstatsd_lines(first, {}, d);
  auto has = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  BOOST_TEST(has("streams.pipeline.input.messages:4|c|#pipeline:p,step:f,kind:filter"));
  BOOST_TEST(has("streams.pipeline.errors:1|c|#pipeline:p,step:f,error_type:invalid_input"));
  for (const std::string& line : lines) {
    BOOST_TEST(line.rfind("streams.pipeline.", 0) == 0u, line);  // only the original's names
  }
  // Its latency is one value a commit: none while no commit went through.
  BOOST_TEST(lines.size() == 2u);
  m.runtime().commits.add();
  lines = metrics::dogstatsd_lines(metrics::snapshot(m), first, d);
  BOOST_TEST(
      has("streams.pipeline.consumer.latency_sec:1.5|h|#pipeline:p,topic:in,consumer_group:group"));
}

BOOST_AUTO_TEST_CASE(librdkafka_statistics_become_lag_queue_and_round_trip_samples) {
  metrics::PipelineMetrics m("p");
  const std::string consumer = R"({"type": "consumer", "brokers": {
      "b1:9092/1": {"nodeid": 1, "rtt": {"avg": 2500, "cnt": 3}},
      "b2:9092/2": {"nodeid": 2, "rtt": {"avg": 0, "cnt": 0}}},
    "topics": {"in": {"partitions": {
      "0": {"consumer_lag": 42}, "1": {"consumer_lag": -1}, "-1": {"consumer_lag": 7}}}}})";
  const std::string producer = R"({"type": "producer", "msg_cnt": 5, "msg_size": 500,
    "topics": {"out": {"batchcnt": {"avg": 40, "cnt": 3}, "batchsize": {"avg": 4100, "cnt": 3}},
               "idle": {"batchcnt": {"avg": 0, "cnt": 0}, "batchsize": {"avg": 0, "cnt": 0}}}})";
  m.set_client_stats("consumer", consumer.data(), consumer.size());
  m.set_client_stats("sink out", producer.data(), producer.size());
  const std::string text = metrics::prometheus_text(m);
  BOOST_TEST(has_line(text, "streams_consumer_lag{pipeline=\"p\",topic=\"in\",partition=\"0\"} 42"),
             text);
  BOOST_TEST(text.find("partition=\"1\"") == std::string::npos);   // lag unknown
  BOOST_TEST(text.find("partition=\"-1\"") == std::string::npos);  // not a partition
  BOOST_TEST(has_line(text,
                      "streams_broker_rtt_seconds{pipeline=\"p\",client=\"consumer\","
                      "broker=\"b1:9092/1\"} 0.0025"),
             text);
  BOOST_TEST(text.find("b2:9092/2") == std::string::npos);  // no round trip measured
  BOOST_TEST(
      has_line(text, "streams_producer_queue_messages{pipeline=\"p\",client=\"sink out\"} 5"),
      text);
  BOOST_TEST(has_line(text,
                      "streams_producer_batch_messages{pipeline=\"p\",client=\"sink out\","
                      "topic=\"out\"} 40"),
             text);
  BOOST_TEST(has_line(text,
                      "streams_producer_batch_bytes{pipeline=\"p\",client=\"sink out\","
                      "topic=\"out\"} 4100"),
             text);
  BOOST_TEST(text.find("topic=\"idle\"") == std::string::npos);  // nothing sent meanwhile
  const std::string broken = "{not json";
  m.set_client_stats("consumer", broken.data(), broken.size());
  BOOST_TEST(metrics::prometheus_text(m).find("consumer_lag") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_batch_step_records_the_size_and_age_of_its_batches) {
  const auto m = count_through("  - {kind: batch, name: b, max_count: 2, format: json}\n",
                               {"0", "1", "2", "3", "4"});
  const std::string text = metrics::prometheus_text(*m);
  BOOST_TEST(has_line(text, "streams_batch_records_count{pipeline=\"p\",step=\"b\"} 2"), text);
  BOOST_TEST(has_line(text, "streams_batch_records_sum{pipeline=\"p\",step=\"b\"} 4"), text);
  BOOST_TEST(has_line(text, "streams_batch_records_bucket{pipeline=\"p\",step=\"b\",le=\"10\"} 2"),
             text);
  BOOST_TEST(text.find("# TYPE streams_batch_age_seconds histogram") != std::string::npos);
}

// Processing threads write shards; readers see their sum, and the health
// checks the oldest loop turn and commit cycle.
BOOST_AUTO_TEST_CASE(shards_of_processing_threads_are_merged_when_read) {
  metrics::PipelineMetrics m("p");
  metrics::PipelineMetrics& second = m.shard(1);
  BOOST_TEST(&m.shard(1) == &second);  // kept: a restarted runtime counts on
  m.runtime().consumed.add(5);
  second.runtime().consumed.add(7);
  m.runtime().assigned_partitions.set(3);
  second.runtime().assigned_partitions.set(5);
  m.step("up", "map", {"out"}).records_in.add(5);
  second.step("up", "map", {"out"}).records_in.add(7);
  second.step("up", "map", {"out"}).errors[2].add(1);
  second.runtime().process_seconds.observe(1e-6);
  const std::string stats = R"({"type": "producer", "msg_cnt": 4, "msg_size": 400})";
  m.set_client_stats("sink out", stats.data(), stats.size());
  second.set_client_stats("sink out", stats.data(), stats.size());
  const std::string text = metrics::prometheus_text(m);
  BOOST_TEST(has_line(text, "streams_consumed_total{pipeline=\"p\"} 12"), text);
  BOOST_TEST(has_line(text, "streams_assigned_partitions{pipeline=\"p\"} 8"), text);
  BOOST_TEST(
      has_line(text, "streams_step_records_in_total{pipeline=\"p\",step=\"up\",kind=\"map\"} 12"),
      text);
  BOOST_TEST(
      has_line(text, "streams_step_errors_total{pipeline=\"p\",step=\"up\",error=\"exception\"} 1"),
      text);
  BOOST_TEST(has_line(text, "streams_process_seconds_count{pipeline=\"p\"} 1"), text);
  BOOST_TEST(
      has_line(text, "streams_producer_queue_messages{pipeline=\"p\",client=\"sink out#1\"} 4"),
      text);

  admin::Health health(m, {1000, 2000});
  const int64_t now = steady_ms();
  m.runtime().loop_ms.set(static_cast<uint64_t>(now));
  m.runtime().commit_checked_ms.set(static_cast<uint64_t>(wall_ms()));
  second.runtime().commit_checked_ms.set(static_cast<uint64_t>(wall_ms()));
  BOOST_TEST(!health.ready().ok);  // thread 2 has not turned its loop yet
  second.runtime().loop_ms.set(static_cast<uint64_t>(now));
  BOOST_TEST(health.ready().ok, health.ready().body);
  // No partitions: a standby once every thread's consumer joined the group.
  m.runtime().assigned_partitions.set(0);
  second.runtime().assigned_partitions.set(0);
  m.runtime().group_joined.set(1);
  BOOST_TEST(health.ready().reason == "joining the group");
  second.runtime().group_joined.set(1);
  BOOST_TEST(health.ready().ok, health.ready().body);
  BOOST_TEST(health.ready().body.find("standby") != std::string::npos);
  second.runtime().loop_ms.set(static_cast<uint64_t>(now - 5000));  // thread 2 stalls
  BOOST_TEST(!health.live().ok);
}

// The healthcheck file and the watchdog follow the oldest thread's turn.
BOOST_AUTO_TEST_CASE(the_liveness_signals_follow_the_oldest_thread) {
  LoopClocks loops(2);
  BOOST_TEST(loops.turned(0, 1000) == 0);  // thread 2 has not turned yet
  BOOST_TEST(loops.turned(1, 1010) == 1000);
  BOOST_TEST(loops.turned(0, 5000) == 1010);  // thread 2 stalls: so does the signal
  BOOST_TEST(loops.turned(1, 5005) == 5000);
}
