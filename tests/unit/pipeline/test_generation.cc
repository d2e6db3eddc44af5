#define BOOST_TEST_MODULE generation
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "test_util.h"

using namespace streams;
using namespace streams::testing;

namespace {

const char* kStep = "  - {kind: map, name: up, plugin: testkit, function: upper}\n";

std::shared_ptr<const pipeline::Generation> build_with(const TempDir& dir,
                                                       const std::string& deployment,
                                                       size_t segment, config::Diagnostics& diag) {
  config::PipelineSpec spec;
  config::DeploymentConfig d;
  BOOST_REQUIRE(load_spec(dir.write("p.yaml", pipeline_yaml(kStep)), &spec, diag));
  BOOST_REQUIRE(config::load_deployment_config(dir.write("d.yaml", deployment), &d, diag));
  plugin::PluginRegistry registry(TEST_PLUGINS_DIR);
  return pipeline::build_generation(std::move(spec), std::move(d), segment, registry, diag);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
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
                      "        parser: {parallelism: 2}\n",
                      0, diag);
  BOOST_REQUIRE_MESSAGE(g, all_errors(diag));
  BOOST_TEST(g->source_topic() == "t-in");
  BOOST_TEST(g->sinks.at(0).settings->target() == "t-out");
  BOOST_TEST(g->consumer_group() == "g");
  BOOST_REQUIRE(diag.warnings().size() == 2u);
  BOOST_TEST(contains(diag.warnings()[0], "steps_config.parser.parallelism: read but not applied"));
  BOOST_TEST(contains(diag.warnings()[1], "steps_config.parser: no step named 'parser'"));
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
