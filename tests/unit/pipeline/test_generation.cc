#define BOOST_TEST_MODULE generation
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "pipeline/generation_diff.h"
#include "pipeline/operators/batch.h"
#include "pipeline/segments.h"
#include "test_util.h"

using namespace streams;
using namespace streams::testing;

namespace {

const char* kStep = "  - {kind: map, name: up, plugin: testkit, function: upper}\n";

std::shared_ptr<const pipeline::Generation> build_with(const TempDir& dir,
                                                       const std::string& deployment,
                                                       size_t segment, config::Diagnostics& diag,
                                                       const std::string& steps = kStep) {
  config::PipelineSpec spec;
  config::DeploymentConfig d;
  BOOST_REQUIRE(load_spec(dir.write("p.yaml", pipeline_yaml(steps)), &spec, diag));
  BOOST_REQUIRE(config::load_deployment_config(dir.write("d.yaml", deployment), &d, diag));
  plugin::PluginRegistry registry(TEST_PLUGINS_DIR);
  return pipeline::build_generation(std::move(spec), std::move(d), segment, registry, diag);
}

// A deployment whose source step has `settings` ("key: value, ...") too.
std::string with_source_settings(const std::string& settings) {
  return "pipeline:\n"
         "  segments:\n"
         "    - steps_config:\n"
         "        in: {bootstrap_servers: [\"127.0.0.1:1\"], " +
         settings +
         "}\n"
         "        out: {bootstrap_servers: [\"127.0.0.1:1\"]}\n";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string all_warnings(const config::Diagnostics& diag) {
  std::string out;
  for (const auto& w : diag.warnings()) out += w + "\n";
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(defaults_come_from_the_pipeline) {
  TempDir dir;
  config::Diagnostics diag;
  auto g = build_with(dir, kTestDeployment, 0, diag);
  BOOST_REQUIRE_MESSAGE(g, all_errors(diag));
  BOOST_TEST(g->source_topic() == "input");
  BOOST_TEST(g->sinks.at(0).settings->target() == "output");
  BOOST_TEST(g->consumer_group() == "pipeline-in");
  BOOST_REQUIRE(g->steps.size() == 2u);  // the map and the sink
  BOOST_TEST(g->steps[0].next == 1u);
  BOOST_TEST(g->steps[1].sink == 0u);
  BOOST_TEST(g->steps[0].plugin_version == "2.3.4");
}

BOOST_AUTO_TEST_CASE(deployment_overrides_topics_and_group) {
  TempDir dir;
  config::Diagnostics diag;
  auto g = build_with(dir,
                      "pipeline:\n"
                      "  segments:\n"
                      "    - steps_config:\n"
                      "        in: {bootstrap_servers: [a:1], topic: t-in, consumer_group: g}\n"
                      "        out: {bootstrap_servers: [a:1], topic: t-out}\n"
                      "        parser: {parallelism: 2}\n"
                      "        ouy: {}\n",
                      0, diag);
  BOOST_REQUIRE_MESSAGE(g, all_errors(diag));
  BOOST_TEST(g->source_topic() == "t-in");
  BOOST_TEST(g->sinks.at(0).settings->target() == "t-out");
  BOOST_TEST(g->consumer_group() == "g");
  BOOST_REQUIRE(diag.warnings().size() == 3u);  // by step name: ouy, then parser
  BOOST_TEST(contains(diag.warnings()[0], "no step named 'ouy' in "));
  BOOST_TEST(contains(diag.warnings()[0], "; did you mean 'out'?"));
  BOOST_TEST(contains(diag.warnings()[1],
                      "steps_config.parser: parallelism of step 'parser' is not applied"));
  BOOST_TEST(contains(diag.warnings()[2], "steps_config.parser: no step named 'parser'"));
  BOOST_TEST(!contains(diag.warnings()[2], "did you mean"));
}

// The original's Batch overrides in steps_config: batch_size and
// batch_timedelta (a Python timedelta's keywords) change a batch step; on
// another kind they are a warning; a duration it cannot be is an error.
BOOST_AUTO_TEST_CASE(steps_config_overrides_a_batchs_size_and_wait) {
  TempDir dir;
  const std::string steps =
      std::string("  - {kind: batch, name: b, max_count: 3, max_wait_ms: 100000}\n") + kStep;
  config::Diagnostics diag;
  auto g = build_with(dir,
                      with_source_settings("") +
                          "        b: {batch_size: 2, batch_timedelta: {seconds: 1, "
                          "milliseconds: 500}}\n"
                          "        up: {batch_size: 5}\n",
                      0, diag, steps);
  BOOST_REQUIRE_MESSAGE(g, all_errors(diag));
  const auto& s =
      static_cast<const pipeline::operators::BatchSettings&>(*g->steps[0].spec->settings);
  BOOST_TEST(s.max_count == 2);
  BOOST_TEST(s.max_wait_ms == 1500);
  BOOST_REQUIRE(diag.warnings().size() == 1u);
  BOOST_TEST(contains(diag.warnings()[0],
                      "steps_config.up: step 'up' is a map, which takes no batch_size: ignored"),
             diag.warnings()[0]);
  for (const auto& [delta, says] : std::vector<std::pair<std::string, std::string>>{
           {"{secs: 2}", "batch_timedelta.secs: unknown key"},
           {"{seconds: 0}", "expected a duration of 1 ms to a week"},
           {"{weeks: 2}", "expected a duration of 1 ms to a week"},
           {"20", "batch_timedelta: expected a mapping"}}) {
    config::DeploymentConfig d;
    config::Diagnostics bad;
    config::load_deployment_config(
        dir.write("bad.yaml", with_source_settings("batch_timedelta: " + delta)), &d, bad);
    BOOST_TEST(contains(all_errors(bad), says), delta + ": " + all_errors(bad));
  }
}

// The original DevNullSink's overrides (batch_size, batch_time_ms, sleep
// times) change a devnull sink; a plugin sink takes its batch_size and
// batch_time_ms (or batch_timedelta); a Kafka sink none of them.
BOOST_AUTO_TEST_CASE(steps_config_overrides_a_sinks_batches_and_sleeps) {
  TempDir dir;
  plugin::PluginRegistry registry(TEST_PLUGINS_DIR);  // one: bound settings compare functions
  auto generation = [&dir, &registry](const std::string& plugin_batch, const std::string& entries,
                                      config::Diagnostics& diag) {
    config::PipelineSpec spec;
    BOOST_REQUIRE(
        load_spec(dir.write("p.yaml",
                            "source: {name: in, stream_name: input}\n"
                            "steps:\n"
                            "  - kind: broadcast\n"
                            "    name: fan\n"
                            "    branches:\n"
                            "      a: [{kind: sink, name: dn, type: devnull}]\n"
                            "      b: [{kind: sink, name: ps, plugin: testkit, function: discard" +
                                plugin_batch +
                                "}]\n"
                                "      c: [{kind: sink, name: out, stream_name: output}]\n"),
                  &spec, diag));
    config::DeploymentConfig d;
    BOOST_REQUIRE(config::load_deployment_config(
        dir.write("d.yaml",
                  "pipeline:\n  segments:\n    - steps_config:\n"
                  "        in: {bootstrap_servers: [\"x:1\"], max_sleep_time_ms: 1}\n"
                  "        out: {bootstrap_servers: [\"x:1\"], batch_size: 3}\n" +
                      entries),
        &d, diag));
    auto g = pipeline::build_generation(std::move(spec), std::move(d), 0, registry, diag);
    BOOST_REQUIRE_MESSAGE(g, all_errors(diag));
    return g;
  };
  config::Diagnostics diag;
  auto g = generation("",
                      "        dn: {batch_size: 7, batch_time_ms: 300, average_sleep_time_ms: 40,"
                      " max_sleep_time_ms: 60}\n"
                      "        ps: {batch_size: 9, batch_timedelta: {seconds: 2},"
                      " average_sleep_time_ms: 5, bucket: x}\n",
                      diag);
  BOOST_REQUIRE(g->sinks.size() == 3u);
  BOOST_TEST(g->sinks[0].settings->describe() ==
             "devnull, writes of 7 records or 300 ms taking ~40 ms (at most 60)");
  config::Diagnostics same_diag, plain_diag;
  auto same = generation(", batch_size: 9, batch_time_ms: 2000", "", same_diag);
  auto plain = generation("", "", plain_diag);
  BOOST_TEST(g->sinks[1].settings->equals(*same->sinks[1].settings));
  BOOST_TEST(!g->sinks[1].settings->equals(*plain->sinks[1].settings));
  BOOST_TEST(plain->sinks[0].settings->describe() == "devnull");
  // Batches with no sleep simulate nothing: said.
  config::Diagnostics no_sleep_diag;
  generation("", "        dn: {batch_size: 7}\n", no_sleep_diag);
  BOOST_TEST(contains(all_warnings(no_sleep_diag),
                      "devnull sink 'dn': its batches are simulated writes, which take "
                      "average_sleep_time_ms"),
             all_warnings(no_sleep_diag));
  BOOST_TEST(!contains(all_warnings(diag), "simulated writes"));
  // The original GCSSink's bucket: a plugin sink's config's.
  config::Diagnostics a_diag, b_diag, over_diag;
  auto in_a = generation(", config: {bucket: a}", "", a_diag);
  auto in_b = generation(", config: {bucket: b}", "", b_diag);
  auto b_over_a = generation(", config: {bucket: a}", "        ps: {bucket: b}\n", over_diag);
  BOOST_TEST(b_over_a->sinks[1].settings->equals(*in_b->sinks[1].settings));
  BOOST_TEST(!b_over_a->sinks[1].settings->equals(*in_a->sinks[1].settings));
  BOOST_REQUIRE(diag.warnings().size() == 3u);
  BOOST_TEST(contains(diag.warnings()[0],
                      "steps_config.in: step 'in' is a source, which takes "
                      "no max_sleep_time_ms: ignored"),
             diag.warnings()[0]);
  BOOST_TEST(contains(diag.warnings()[1],
                      "steps_config.ps: step 'ps' is a plugin sink, which "
                      "takes no average_sleep_time_ms, bucket: ignored"),
             diag.warnings()[1]);
  BOOST_TEST(contains(diag.warnings()[2],
                      "steps_config.out: step 'out' is a kafka sink, which "
                      "takes no batch_size: ignored"),
             diag.warnings()[2]);
}

// Processing threads come from the source's parallelism (a segment's first
// step); changing it restarts the consumer.
BOOST_AUTO_TEST_CASE(the_sources_parallelism_is_the_thread_count) {
  TempDir dir;
  config::Diagnostics diag;
  auto one = build_with(dir, kTestDeployment, 0, diag);
  auto two = build_with(dir, with_source_settings("parallelism: 2"), 0, diag);
  BOOST_REQUIRE_MESSAGE(one && two, all_errors(diag));
  BOOST_TEST(diag.warnings().size() == 0u);
  BOOST_TEST(two->source_settings().parallelism == 2);
  BOOST_TEST(contains(pipeline::diff_generations(*one, *two).needs_restart, "steps_config"));
}

// The segment pause's topic is a change the consumer does not see: applied
// without a restart (its follower is made again, cli/run_command.cc).
BOOST_AUTO_TEST_CASE(a_new_control_topic_is_a_change_without_a_restart) {
  TempDir dir;
  config::Diagnostics diag;
  auto one = build_with(dir, kTestDeployment, 0, diag);
  auto two = build_with(dir, with_source_settings("control_topic: ops.p"), 0, diag);
  BOOST_REQUIRE_MESSAGE(one && two, all_errors(diag));
  const pipeline::GenerationDiff diff = pipeline::diff_generations(*one, *two);
  BOOST_TEST(diff.needs_restart == "");
  const std::string change = "the source's control_topic (segment pauses)";
  // (Each build loads the plugin anew: a plugin change is listed too.)
  BOOST_TEST(std::count(diff.changes.begin(), diff.changes.end(), change) == 1);
  const auto same = pipeline::diff_generations(*two, *two).changes;
  BOOST_TEST(std::count(same.begin(), same.end(), change) == 0);
}

BOOST_AUTO_TEST_CASE(source_and_sink_need_brokers) {
  TempDir dir;
  config::Diagnostics diag;
  auto g = build_with(dir,
                      "pipeline:\n"
                      "  segments:\n"
                      "    - steps_config:\n"
                      "        in: {topic: x}\n",
                      0, diag);
  BOOST_TEST(!g);
  const std::string errors = all_errors(diag);
  BOOST_TEST(contains(errors, "steps_config.in.bootstrap_servers: required key is missing"),
             errors);
  BOOST_TEST(contains(errors, "steps_config.out: missing: step 'out' needs bootstrap_servers"),
             errors);
}

BOOST_AUTO_TEST_CASE(segment_must_exist) {
  TempDir dir;
  config::Diagnostics diag;
  auto g = build_with(dir, kTestDeployment, 3, diag);
  BOOST_TEST(!g);
  BOOST_TEST(contains(all_errors(diag), "segment 3 requested, but the file defines 1"));
}

BOOST_AUTO_TEST_CASE(only_the_source_takes_a_dlq_and_error_settings) {
  TempDir dir;
  config::Diagnostics diag;
  auto g = build_with(dir,
                      "pipeline:\n"
                      "  segments:\n"
                      "    - steps_config:\n"
                      "        in: {bootstrap_servers: [a:1], dlq: {topic: dead}}\n"
                      "        out: {bootstrap_servers: [a:1], dlq: {topic: dead2}}\n",
                      0, diag);
  BOOST_TEST(!g);
  const std::string errors = all_errors(diag);
  BOOST_TEST(contains(errors,
                      "steps_config.out: error_policy, dlq and error_limits belong to the "
                      "source ('in'), not to step 'out'"),
             errors);
  BOOST_TEST(std::count(errors.begin(), errors.end(), '\n') == 1, errors);
}

namespace {

const char* kThreeSegments = R"(name: split
source: {name: in, stream_name: raw}
steps:
  - {kind: parser, name: parse, format: json}
  - {kind: map, name: up, plugin: testkit, function: upper}
  - {kind: serializer, name: ser, format: json}
  - kind: broadcast
    name: fan
    branches:
      a: [{kind: sink, name: out_a, stream_name: a}]
      b: [{kind: sink, name: out_b, type: devnull}]
)";

const char* kThreeSegmentsDeployment = R"(pipeline:
  segments:
    - steps_config:
        in: {bootstrap_servers: ["127.0.0.1:1"], consumer_group: g0}
    - steps_config:
        up: {starts_segment: true, topic: into-up}
    - steps_config:
        fan: {starts_segment: true, bootstrap_servers: ["127.0.0.1:2"]}
        out_a: {bootstrap_servers: ["127.0.0.1:1"]}
)";

// Segment `n` of kThreeSegments, built; null with errors in diag.
std::shared_ptr<const pipeline::Generation> segment(const TempDir& dir, const std::string& pipeline,
                                                    const std::string& deployment, size_t n,
                                                    config::Diagnostics& diag) {
  config::PipelineSpec spec;
  config::DeploymentConfig d;
  BOOST_REQUIRE(load_spec(dir.write("p.yaml", pipeline), &spec, diag));
  BOOST_REQUIRE_MESSAGE(config::load_deployment_config(dir.write("d.yaml", deployment), &d, diag),
                        all_errors(diag));
  if (!pipeline::cut_segment(&spec, &d, n, {pipeline::step_types(), sinks::sink_types()}, diag)) {
    return nullptr;
  }
  plugin::PluginRegistry registry(TEST_PLUGINS_DIR);
  return pipeline::build_generation(std::move(spec), std::move(d), n, registry, diag);
}

std::vector<std::string> step_names(const pipeline::Generation& g) {
  std::vector<std::string> out;
  for (const auto& s : g.steps) out.push_back(s.name);
  return out;
}

}  // namespace

// Each segment runs its main-line steps, reads the topic into it and writes
// the topic into the next, named after the next segment's first step.
BOOST_AUTO_TEST_CASE(a_segment_runs_its_steps_between_topics) {
  TempDir dir;
  config::Diagnostics diag;
  auto g0 = segment(dir, kThreeSegments, kThreeSegmentsDeployment, 0, diag);
  BOOST_REQUIRE_MESSAGE(g0, all_errors(diag));
  BOOST_TEST(step_names(*g0) == (std::vector<std::string>{"parse", "up"}));
  BOOST_TEST(g0->source_topic() == "raw");
  BOOST_TEST(g0->consumer_group() == "g0");
  BOOST_TEST(g0->pipeline.crossing_sink == "up");
  BOOST_TEST(g0->sinks.at(0).settings->target() == "into-up");  // the step's `topic`

  auto g1 = segment(dir, kThreeSegments, kThreeSegmentsDeployment, 1, diag);
  BOOST_REQUIRE_MESSAGE(g1, all_errors(diag));
  BOOST_TEST(step_names(*g1) == (std::vector<std::string>{"up", "ser", "fan"}));
  BOOST_TEST(g1->pipeline.source.name == "up");
  BOOST_TEST(g1->source_topic() == "into-up");
  BOOST_TEST(g1->consumer_group() == "pipeline-up");
  BOOST_TEST(g1->source_deployment().bootstrap_servers ==
             std::vector<std::string>{"127.0.0.1:1"});  // the pipeline source's
  BOOST_TEST(g1->pipeline.source_payload == static_cast<int>(pipeline::Payload::json));
  BOOST_TEST(g1->sinks.at(0).settings->target() == "split-fan");  // the default topic
  BOOST_TEST(g1->sink_deployment(0).bootstrap_servers ==
             std::vector<std::string>{"127.0.0.1:2"});  // the next segment's first step's

  auto g2 = segment(dir, kThreeSegments, kThreeSegmentsDeployment, 2, diag);
  BOOST_REQUIRE_MESSAGE(g2, all_errors(diag));
  BOOST_TEST(step_names(*g2) == (std::vector<std::string>{"fan", "out_a", "out_b"}));
  BOOST_TEST(g2->source_topic() == "split-fan");
  BOOST_TEST(g2->source_deployment().bootstrap_servers == std::vector<std::string>{"127.0.0.1:2"});
  BOOST_TEST(g2->pipeline.crossing_sink.empty());
  BOOST_TEST(g2->pipeline.source_payload == static_cast<int>(pipeline::Payload::bytes));
}

// A hop on the pipeline source's brokers connects as the source does (its
// TLS/SASL settings, under the hop step's own); one on other brokers does
// not take them.
BOOST_AUTO_TEST_CASE(a_hop_on_the_source_brokers_takes_its_connection_settings) {
  TempDir dir;
  config::Diagnostics diag;
  std::string deployment = kThreeSegmentsDeployment;
  deployment.replace(deployment.find("consumer_group: g0}"), 19,
                     "consumer_group: g0, override_params: {security.protocol: SASL_SSL, "
                     "sasl.username: u, socket.timeout.ms: \"7000\"}}");
  deployment.replace(deployment.find("topic: into-up}"), 15,
                     "topic: into-up, override_params: {sasl.username: hop}}");
  using Settings = std::vector<std::pair<std::string, std::string>>;
  auto g1 = segment(dir, kThreeSegments, deployment, 1, diag);
  BOOST_REQUIRE_MESSAGE(g1, all_errors(diag));
  BOOST_TEST((g1->source_deployment().override_params ==
              Settings{{"security.protocol", "SASL_SSL"},
                       {"sasl.username", "u"},
                       {"sasl.username", "hop"}}));  // applied in order: its own wins
  auto g2 = segment(dir, kThreeSegments, deployment, 2, diag);
  BOOST_REQUIRE_MESSAGE(g2, all_errors(diag));
  BOOST_TEST(g2->source_deployment().override_params.empty());  // 127.0.0.1:2
}

BOOST_AUTO_TEST_CASE(a_segment_no_step_starts_or_that_starts_in_a_branch_is_an_error) {
  TempDir dir;
  config::Diagnostics diag;
  std::string deployment = kThreeSegmentsDeployment;
  deployment.replace(deployment.find("up: {starts_segment: true"), 2, "xx");
  BOOST_TEST(!segment(dir, kThreeSegments, deployment, 0, diag));
  BOOST_TEST(contains(all_errors(diag), "pipeline.segments[1]: no step of"), all_errors(diag));

  config::Diagnostics branch;
  deployment = kThreeSegmentsDeployment;
  deployment.replace(deployment.find("fan: {"), 6, "out_b: {");
  BOOST_TEST(!segment(dir, kThreeSegments, deployment, 1, branch));
  BOOST_TEST(contains(all_errors(branch), "step 'out_b' starts a segment inside a branch of 'fan'"),
             all_errors(branch));

  config::Diagnostics none;
  BOOST_TEST(!segment(dir, kThreeSegments, kThreeSegmentsDeployment, 3, none));
  BOOST_TEST(contains(all_errors(none), "no segment 3: the deployment has 3"), all_errors(none));
}
