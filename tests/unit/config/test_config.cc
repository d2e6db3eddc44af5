#define BOOST_TEST_MODULE config
#include <yaml-cpp/yaml.h>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <tuple>

#include "common/edit_distance.h"
#include "config/k8s_manifests.h"
#include "config/topology_graph.h"
#include "pipeline/operators/header_filter.h"
#include "test_util.h"

using streams::config::Diagnostics;
using streams::testing::all_errors;
using streams::testing::load_spec;
using streams::testing::TempDir;
namespace config = streams::config;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string pipeline_errors(const std::string& yaml) {
  TempDir dir;
  config::PipelineSpec spec;
  Diagnostics diag;
  BOOST_TEST(!load_spec(dir.write("p.yaml", yaml), &spec, diag));
  return all_errors(diag);
}

// pipeline_errors() for a pipeline with source "in" and these steps.
std::string steps_errors(const std::string& steps_yaml) {
  return pipeline_errors("source: {name: in, stream_name: t}\nsteps:\n" + steps_yaml);
}

std::string deployment_errors(const std::string& yaml) {
  TempDir dir;
  config::DeploymentConfig d;
  Diagnostics diag;
  BOOST_TEST(!config::load_deployment_config(dir.write("d.yaml", yaml), &d, diag));
  return all_errors(diag);
}

}  // namespace

BOOST_AUTO_TEST_CASE(example_pipeline_loads) {
  config::PipelineSpec spec;
  Diagnostics diag;
  BOOST_REQUIRE(load_spec(EXAMPLE_DIR "/pipeline.yaml", &spec, diag));
  BOOST_TEST(spec.name == "simple_map_filter");
  BOOST_TEST(spec.source.name == "myinput");
  BOOST_TEST(spec.source.stream_name == "ingest-metrics");
  BOOST_REQUIRE(spec.steps.size() == 3u);
  BOOST_TEST(spec.steps[0].kind() == std::string("filter"));
  BOOST_TEST(spec.steps[1].function == "transform");
  BOOST_TEST(spec.sinks().at(0)->sink->target() == "transformed-events");
}

BOOST_AUTO_TEST_CASE(unknown_step_kind_names_file_line_and_key) {
  std::string errors = pipeline_errors(
      "source: {name: in, stream_name: t}\n"
      "steps:\n"
      "  - {kind: map, name: a, plugin: p, function: f}\n"
      "  - kind: mapp\n"
      "    name: b\n");
  BOOST_TEST(
      contains(errors, "p.yaml:4:11: steps[1].kind: unknown step kind 'mapp'; did you mean 'map'?"),
      errors);
  BOOST_TEST(contains(errors,
                      "(expected one of map, filter, flat_map, header_filter, parser, serializer, "
                      "batch, reduce, route, broadcast, sink)"),
             errors);
  // Nothing near: no guess.
  errors = pipeline_errors(
      "source: {name: in, stream_name: t}\n"
      "steps:\n"
      "  - {kind: window_aggregate, name: b}\n");
  BOOST_TEST(contains(errors, "unknown step kind 'window_aggregate' (expected one of"), errors);
}

// One notion of "near" for every guess: the nearest name wins, not the last
// near one, whether the names are strings or C strings.
BOOST_AUTO_TEST_CASE(a_guess_is_the_nearest_name) {
  const std::vector<std::string> names{"max_rows", "max_bytes", "max_byte_s"};
  BOOST_TEST(streams::did_you_mean("max_bytse", names) == "; did you mean 'max_bytes'?");
  BOOST_TEST(streams::did_you_mean("linger", names) == "");
  const std::initializer_list<const char*> keys{"batch_sizes", "batch_size"};
  BOOST_TEST(streams::nearest_name("batch_sizes_", keys).value_or("") == "batch_sizes");
  BOOST_TEST(!streams::nearest_name("flush_interval", keys));
}

BOOST_AUTO_TEST_CASE(pipeline_must_end_in_a_sink) {
  std::string errors = pipeline_errors(
      "source: {name: in, stream_name: t}\n"
      "steps:\n"
      "  - {kind: sink, name: s, stream_name: o}\n"
      "  - {kind: map, name: a, plugin: p, function: f}\n");
  BOOST_TEST(contains(errors, "a sink ends its list of steps; 's' is followed by more"), errors);
  BOOST_TEST(contains(errors, "the pipeline must end in a sink"), errors);
}

BOOST_AUTO_TEST_CASE(missing_required_keys_and_unknown_keys) {
  std::string errors = pipeline_errors(
      "source: {name: in}\n"
      "steps:\n"
      "  - {kind: map, name: a, plugin: p, funktion: f}\n"
      "  - {kind: sink, name: s, stream_name: o}\n");
  BOOST_TEST(contains(errors, "source.stream_name: required key is missing"), errors);
  BOOST_TEST(contains(errors, "steps[0].funktion: unknown key"), errors);
  BOOST_TEST(contains(errors, "steps[0].function: required key is missing"), errors);
}

BOOST_AUTO_TEST_CASE(invalid_yaml_reports_position) {
  std::string errors = pipeline_errors("source: {name: in\nsteps: [\n");
  BOOST_TEST(contains(errors, "p.yaml:"), errors);
  BOOST_TEST(contains(errors, "invalid YAML"), errors);
}

// A Latin-1 byte aborted validate and start-up (nlohmann_json's dump()).
BOOST_AUTO_TEST_CASE(non_utf8_config_names_the_key) {
  const std::string errors = steps_errors(
      "  - {kind: map, name: a, plugin: p, function: f, config: {city: \"M\xfcnchen\"}}\n"
      "  - {kind: sink, name: out, stream_name: o}\n");
  BOOST_TEST(contains(errors, "p.yaml:3:65: steps[0].config.city: not valid UTF-8"), errors);
  BOOST_TEST(contains(steps_errors("  - {kind: sink, name: o\xe9, stream_name: o}\n"),
                      "steps[0].name: not valid UTF-8"));
}

BOOST_AUTO_TEST_CASE(alias_bombs_and_huge_files_are_refused) {
  // Nine levels of ten aliases each: 10^9 nodes when expanded.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) bomb += (j ? ", " : "") + prev;
    bomb += "]\n";
  }
  const std::string errors = steps_errors(
      "  - kind: map\n    name: a\n    plugin: p\n    function: f\n    config:\n" +
      [&] {
        std::string indented;
        size_t start = 0;
        for (size_t end; (end = bomb.find('\n', start)) != std::string::npos; start = end + 1) {
          indented += "      " + bomb.substr(start, end - start + 1);
        }
        return indented;
      }() +
      "  - {kind: sink, name: out, stream_name: o}\n");
  BOOST_TEST(contains(errors, "the document expands to more than 100000 nodes"), errors);

  BOOST_TEST(
      contains(pipeline_errors(std::string(3000, '[') + std::string(3000, ']')), "invalid YAML"));
  BOOST_TEST(contains(pipeline_errors("# " + std::string(2 << 20, 'x') + "\n"),
                      "file is larger than 1048576 bytes"));
}

BOOST_AUTO_TEST_CASE(duplicate_keys_are_refused) {
  const std::string errors = steps_errors(
      "  - {kind: map, name: a, plugin: p, function: f, function: g}\n"
      "  - {kind: sink, name: out, stream_name: o}\n");
  BOOST_TEST(contains(errors, "p.yaml:3:50: steps[0].function: duplicate key"), errors);
  BOOST_TEST(contains(deployment_errors("pipeline: {segments: []}\npipeline: {}\n"),
                      "d.yaml:2:1: pipeline: duplicate key"));
}

// The original's deployment files load unchanged: their step settings we do
// not read, segment-level parallelism, adapter_config and metrics keys.
BOOST_AUTO_TEST_CASE(the_originals_deployment_files_load_unchanged) {
  ::setenv("MAX_POLL_INTERVAL_MS", "300000", 1);  // envvars.yaml refers to it
  const std::string dir = TEST_DATA_DIR "/original_deployment_config/";
  for (const char* name :
       {"blq", "devnull_benchmark", "envvars", "flink_blq", "flink_transformer", "gcs_sink",
        "parallel_processing", "simple_batching", "simple_map_filter", "transformer"}) {
    config::DeploymentConfig d;
    Diagnostics diag;
    BOOST_TEST(config::load_deployment_config(dir + name + ".yaml", &d, diag),
               name << ": " << all_errors(diag));
    std::string warnings;
    for (const auto& w : diag.warnings()) warnings += w + "\n";
    // A segment's parallelism (flink_*) is named; a step's is applied
    // (parallel_processing: the parser starts a segment).
    const bool segment_level = std::string(name).rfind("flink", 0) == 0;
    BOOST_TEST(contains(warnings, "parallelism: not applied here") == segment_level,
               name << ": " << warnings);
    if (std::string(name) == "simple_map_filter") BOOST_TEST(d.write_healthcheck);
    if (std::string(name) == "parallel_processing") BOOST_TEST(d.metrics.period_sec == 5.0);
  }
}

BOOST_AUTO_TEST_CASE(the_originals_metrics_and_sentry_keys_are_honoured_or_named) {
  TempDir dir;
  config::DeploymentConfig d;
  Diagnostics diag;
  BOOST_REQUIRE(config::load_deployment_config(
      dir.write("d.yaml",
                "sentry_sdk_config: {dsn: \"https://k@sentry.example/1\"}\n"
                "metrics: {type: datadog, host: 127.0.0.1, port: 8125, flush_interval_ms: "
                "2500, udp_queue_size: 64}\n"
                "pipeline:\n  segments:\n    - steps_config:\n"
                "        in: {bootstrap_servers: [\"x:1\"], some_setting: 2}\n"),
      &d, diag));
  BOOST_TEST(d.metrics.period_sec == 2.5);
  BOOST_TEST(d.metrics.udp_queue_size == 64);
  std::string warnings;
  for (const auto& w : diag.warnings()) warnings += w + "\n";
  BOOST_TEST(!contains(warnings, "sentry_sdk_config"), warnings);
  BOOST_TEST(d.sentry.envelope_url == "https://sentry.example/api/1/envelope/");
  BOOST_TEST(d.sentry.public_key == "k");
  BOOST_TEST(contains(warnings, "steps_config.in.some_setting: unknown key, ignored"), warnings);
}

BOOST_AUTO_TEST_CASE(metrics_names_choose_whose_names_datadog_gets) {
  TempDir dir;
  const std::string segments =
      "pipeline:\n  segments:\n    - steps_config:\n        in: {bootstrap_servers: [\"x:1\"]}\n";
  for (const auto& [names, ours, original] :
       std::vector<std::tuple<std::string, bool, bool>>{{"", true, false},
                                                        {"names: streams, ", true, false},
                                                        {"names: original, ", false, true},
                                                        {"names: both, ", true, true}}) {
    config::DeploymentConfig d;
    Diagnostics diag;
    BOOST_TEST_REQUIRE(config::load_deployment_config(
        dir.write("d.yaml", "metrics: {" + names + "type: datadog}\n" + segments), &d, diag));
    BOOST_TEST(d.metrics.streams_names == ours, names);
    BOOST_TEST(d.metrics.original_names == original, names);
  }
  config::DeploymentConfig d;
  Diagnostics diag;
  BOOST_TEST(!config::load_deployment_config(
      dir.write("d.yaml", "metrics: {type: datadog, names: sentry}\n" + segments), &d, diag));
  BOOST_TEST(contains(all_errors(diag),
                      "d.yaml:1:33: metrics.names: expected streams, original (Sentry Streams' "
                      "metric names) or both; got 'sentry'"),
             all_errors(diag));
}

BOOST_AUTO_TEST_CASE(a_sentry_dsn_is_read_or_refused_with_why) {
  config::SentryDeployment s;
  std::string why;
  BOOST_TEST(config::parse_sentry_dsn("http://pub:sec@127.0.0.1:9000/prefix/sentry/42", &s, &why));
  BOOST_TEST(s.envelope_url == "http://127.0.0.1:9000/prefix/sentry/api/42/envelope/");
  BOOST_TEST(s.public_key == "pub");
  BOOST_TEST(s.secret_key == "sec");
  for (const auto& [dsn, expected] : std::vector<std::pair<std::string, std::string>>{
           {"sentry.example/1", "does not start with https:// or http://"},
           {"https://sentry.example/1", "no KEY@ before the host"},
           {"https://k@sentry.example", "no /PROJECT_ID after the host"},
           {"https://k@/1", "no host after @"},
           {"https://@sentry.example/1", "the key before @ is empty"}}) {
    BOOST_TEST(!config::parse_sentry_dsn(dsn, &s, &why), dsn);
    BOOST_TEST(contains(why, expected), dsn << ": " << why);
  }
  // In a config: the file, the key and what was expected; `dsn: ""` is off.
  TempDir dir;
  const std::string segments =
      "pipeline:\n  segments:\n    - steps_config:\n        in: {bootstrap_servers: [\"x:1\"]}\n";
  config::DeploymentConfig d;
  Diagnostics diag;
  BOOST_TEST(!config::load_deployment_config(
      dir.write("d.yaml", "sentry_sdk_config: {dsn: \"sentry.example/1\"}\n" + segments), &d,
      diag));
  BOOST_TEST(contains(all_errors(diag),
                      "d.yaml:1:26: sentry_sdk_config.dsn: expected a Sentry DSN "
                      "(https://KEY@HOST/PROJECT_ID): 'sentry.example/1' does not start with"),
             all_errors(diag));
  Diagnostics off;
  BOOST_REQUIRE_MESSAGE(
      config::load_deployment_config(
          dir.write("e.yaml",
                    "sentry_sdk_config: {dsn: \"\", traces_sample_rate: 1.0}\n" + segments),
          &d, off),
      all_errors(off));
  BOOST_TEST(d.sentry.dsn.empty());
  std::string warnings;
  for (const auto& w : off.warnings()) warnings += w + "\n";
  BOOST_TEST(contains(warnings, "sentry_sdk_config.traces_sample_rate: unknown key, ignored"),
             warnings);
}

BOOST_AUTO_TEST_CASE(step_config_becomes_typed_json) {
  TempDir dir;
  config::PipelineSpec spec;
  Diagnostics diag;
  BOOST_REQUIRE(load_spec(
      dir.write(
          "p.yaml",
          "source: {name: in, stream_name: t}\n"
          "steps:\n"
          "  - kind: map\n"
          "    name: a\n"
          "    plugin: p\n"
          "    function: f\n"
          "    config: {n: 3, ratio: 0.5, on: true, quoted: \"7\", list: [a, 1], none: null}\n"
          "  - {kind: sink, name: s, stream_name: o}\n"),
      &spec, diag));
  BOOST_TEST(spec.steps[0].config_json ==
             R"({"list":["a",1],"n":3,"none":null,"on":true,"quoted":"7","ratio":0.5})");
  BOOST_TEST(spec.steps[1].config_json == "{}");
}

BOOST_AUTO_TEST_CASE(original_deployment_keys_load) {
  TempDir dir;
  ::setenv("STREAMS_TEST_SERVERS", "10.0.0.1:9092", 1);
  config::DeploymentConfig d;
  Diagnostics diag;
  BOOST_REQUIRE(config::load_deployment_config(
      dir.write("d.yaml",
                "env: {}\n"
                "metrics: {type: dummy}\n"
                "pipeline:\n"
                "  segments:\n"
                "    - steps_config:\n"
                "        myinput:\n"
                "          starts_segment: True\n"
                "          bootstrap_servers: [\"${envvar:STREAMS_TEST_SERVERS}\"]\n"
                "          auto_offset_reset: earliest\n"
                "          strict_offset_reset: true\n"
                "          consumer_group: g1\n"
                "          override_params: {fetch.wait.max.ms: 50}\n"
                "        parser:\n"
                "          parallelism:\n"
                "            multi_process: {processes: 4, batch_size: 1000, batch_time: 0.2}\n"
                "        mysink:\n"
                "          bootstrap_servers: [\"127.0.0.1:9092\"]\n"
                "        gcs:\n"
                "          parallelism: {threads: 4}\n"),
      &d, diag));
  // A GCSSink's upload threads: read, and said not to apply.
  BOOST_REQUIRE(diag.warnings().size() == 1u);
  BOOST_TEST(contains(diag.warnings()[0],
                      "steps_config.gcs.parallelism.threads: a GCSSink's "
                      "upload threads in the original; not applied here"),
             diag.warnings()[0]);
  const auto& steps = d.segments.at(0).steps_config;
  BOOST_TEST(steps.at("myinput").bootstrap_servers.at(0) == "10.0.0.1:9092");
  BOOST_TEST(steps.at("myinput").starts_segment);
  BOOST_TEST((steps.at("myinput").auto_offset_reset == config::OffsetReset::earliest));
  BOOST_TEST(steps.at("myinput").strict_offset_reset);
  BOOST_TEST(!steps.at("mysink").strict_offset_reset);
  BOOST_TEST(steps.at("myinput").consumer_group == "g1");
  BOOST_TEST(steps.at("myinput").override_params.at(0).second == "50");
  BOOST_TEST(steps.at("parser").parallelism == 4);
}

BOOST_AUTO_TEST_CASE(missing_env_var_is_named) {
  ::unsetenv("STREAMS_TEST_MISSING");
  std::string errors = deployment_errors(
      "pipeline:\n"
      "  segments:\n"
      "    - steps_config:\n"
      "        myinput:\n"
      "          bootstrap_servers: [\"${envvar:STREAMS_TEST_MISSING}\"]\n");
  BOOST_TEST(contains(errors,
                      "d.yaml:5:31: pipeline.segments[0].steps_config.myinput."
                      "bootstrap_servers[0]: environment variable STREAMS_TEST_MISSING "
                      "is not set"),
             errors);
  BOOST_TEST(std::count(errors.begin(), errors.end(), '\n') == 1, errors);
}

BOOST_AUTO_TEST_CASE(bad_values_say_what_was_expected) {
  std::string errors = deployment_errors(
      "pipeline:\n"
      "  segments:\n"
      "    - steps_config:\n"
      "        myinput:\n"
      "          auto_offset_reset: smallest\n"
      "          strict_offset_reset: maybe\n"
      "          commit_interval_ms: soon\n"
      "          error_policy: ignore\n"
      "          bootstrap_server: x\n");
  BOOST_TEST(contains(errors,
                      "auto_offset_reset: expected one of earliest, latest, error; got "
                      "'smallest'"),
             errors);
  BOOST_TEST(contains(errors, "commit_interval_ms: expected an integer from 1 to"), errors);
  BOOST_TEST(contains(errors, "myinput.strict_offset_reset: expected"), errors);
  BOOST_TEST(contains(errors,
                      "myinput.bootstrap_server: unknown key; did you mean "
                      "bootstrap_servers?"),
             errors);
  BOOST_TEST(
      contains(errors, "myinput.error_policy: expected fail or skip-and-count, got 'ignore'"),
      errors);
}

BOOST_AUTO_TEST_CASE(metrics_exporters_load_and_bad_ones_say_what_was_expected) {
  TempDir dir;
  config::DeploymentConfig d;
  Diagnostics diag;
  BOOST_REQUIRE(config::load_deployment_config(
      dir.write("d.yaml",
                "metrics: {type: datadog, host: 10.1.2.3, tags: {env: prod}, period_sec: 0.5}\n"
                "pipeline: {segments: [{steps_config: {}}]}\n"),
      &d, diag));
  BOOST_TEST((d.metrics.type == config::MetricsDeployment::Type::datadog));
  BOOST_TEST(d.metrics.host == "10.1.2.3");
  BOOST_TEST(d.metrics.port == 8125);  // DogStatsD's default
  BOOST_TEST(d.metrics.period_sec == 0.5);
  BOOST_REQUIRE(d.metrics.tags.size() == 1u);
  BOOST_TEST(d.metrics.tags[0].second == "prod");
  std::string errors =
      deployment_errors("metrics: {type: statsd}\npipeline: {segments: [{steps_config: {}}]}\n");
  BOOST_TEST(contains(errors,
                      "metrics.type: expected one of dummy, log, datadog, prometheus; "
                      "got 'statsd'"),
             errors);
  errors = deployment_errors(
      "metrics: {type: prometheus}\npipeline: {segments: [{steps_config: {}}]}\n");
  BOOST_TEST(contains(errors, "metrics.port: required with type prometheus"), errors);
}

BOOST_AUTO_TEST_CASE(dlq_and_error_limits_load_from_the_source) {
  TempDir dir;
  config::DeploymentConfig d;
  Diagnostics diag;
  BOOST_REQUIRE_MESSAGE(
      config::load_deployment_config(dir.write("d.yaml",
                                               "pipeline:\n"
                                               "  segments:\n"
                                               "    - steps_config:\n"
                                               "        myinput:\n"
                                               "          bootstrap_servers: [\"a:1\"]\n"
                                               "          dlq:\n"
                                               "            topic: dead\n"
                                               "            bootstrap_servers: [\"b:2\"]\n"
                                               "            override_params: {linger.ms: 5}\n"
                                               "          error_limits:\n"
                                               "            max_consecutive_failures: 10\n"
                                               "            max_failure_ratio: 0.25\n"
                                               "            ratio_window: 400\n"),
                                     &d, diag),
      all_errors(diag));
  const auto& source = d.segments.at(0).steps_config.at("myinput");
  BOOST_TEST(source.dlq.topic == "dead");
  BOOST_TEST(source.dlq.bootstrap_servers.at(0) == "b:2");
  BOOST_TEST(source.dlq.override_params.at(0).first == "linger.ms");
  BOOST_TEST(source.dlq.location.line == 7);  // the mapping under dlq:
  BOOST_TEST(source.error_limits.max_consecutive_failures == 10u);
  BOOST_TEST(source.error_limits.max_failure_ratio == 0.25);
  BOOST_TEST(source.error_limits.ratio_window == 400u);
}

BOOST_AUTO_TEST_CASE(bad_dlq_and_limits_say_what_was_expected) {
  std::string errors = deployment_errors(
      "pipeline:\n"
      "  segments:\n"
      "    - steps_config:\n"
      "        myinput:\n"
      "          error_policy: fail\n"
      "          dlq: {bootstrap_servers: [\"b:2\"], topik: x}\n"
      "          error_limits: {max_failure_ratio: 2, ratio_window: 0}\n");
  BOOST_TEST(contains(errors, "myinput.dlq.topic: required key is missing"), errors);
  BOOST_TEST(contains(errors, "myinput.dlq.topik: unknown key"), errors);
  BOOST_TEST(contains(errors, "max_failure_ratio: expected a number from 0 to 1, got '2'"), errors);
  BOOST_TEST(contains(errors, "ratio_window: expected an integer from 1 to"), errors);
  errors = deployment_errors(
      "pipeline:\n"
      "  segments:\n"
      "    - steps_config:\n"
      "        myinput:\n"
      "          error_policy: fail\n"
      "          dlq: {topic: dead}\n");
  BOOST_TEST(contains(errors,
                      "d.yaml:5:25: pipeline.segments[0].steps_config.myinput.error_policy: "
                      "a source with a dlq sends failed records there"),
             errors);
}

BOOST_AUTO_TEST_CASE(missing_file_is_reported) {
  config::DeploymentConfig d;
  Diagnostics diag;
  BOOST_TEST(!config::load_deployment_config("/nonexistent/d.yaml", &d, diag));
  BOOST_TEST(all_errors(diag) ==
             "/nonexistent/d.yaml: cannot open file: No such file or directory\n");
  streams::testing::TempDir dir;
  BOOST_TEST(!config::load_deployment_config(dir.path(), &d, diag));
  BOOST_TEST(contains(all_errors(diag), dir.path() + ": cannot open file: it is a directory"));
}

BOOST_AUTO_TEST_CASE(branches_load_as_a_tree) {
  TempDir dir;
  config::PipelineSpec spec;
  Diagnostics diag;
  BOOST_REQUIRE_MESSAGE(
      load_spec(dir.write("p.yaml",
                          "source: {name: in, stream_name: t}\n"
                          "steps:\n"
                          "  - kind: broadcast\n"
                          "    name: fan\n"
                          "    branches:\n"
                          "      files: [{kind: sink, name: f, type: file, path: /tmp/x}]\n"
                          "      kafka:\n"
                          "        - {kind: header_filter, name: h, header: a, value: b}\n"
                          "        - {kind: sink, name: k, stream_name: out}\n"),
                &spec, diag),
      all_errors(diag));
  BOOST_REQUIRE(spec.steps.size() == 1u);
  BOOST_REQUIRE(spec.steps[0].branches.size() == 2u);
  BOOST_TEST(spec.steps[0].branches[0].name == "files");
  const auto& filter = spec.steps[0].branches[1].steps[0];
  BOOST_TEST(
      static_cast<const streams::pipeline::operators::HeaderFilterSettings&>(*filter.settings)
          .header == "a");
  auto sinks = spec.sinks();
  BOOST_REQUIRE(sinks.size() == 2u);
  BOOST_TEST(sinks[0]->sink_type->name() == "file");
  BOOST_TEST(sinks[0]->sink->describe() == "file /tmp/x");
  BOOST_TEST(sinks[1]->sink->describe() == "kafka out");
}

BOOST_AUTO_TEST_CASE(a_branch_must_end_in_a_sink) {
  std::string errors = steps_errors(
      "  - kind: broadcast\n"
      "    name: fan\n"
      "    branches:\n"
      "      ok: [{kind: sink, name: s, stream_name: o}]\n"
      "      open: [{kind: map, name: m, plugin: p, function: f}]\n");
  BOOST_TEST(contains(errors,
                      "steps[0].branches.open[0]: branch 'open' of 'fan' must end in a "
                      "sink; its last step 'm' is a map"),
             errors);
}

BOOST_AUTO_TEST_CASE(a_route_needs_branches) {
  std::string errors = steps_errors("  - {kind: route, name: r, plugin: p, function: f}\n");
  BOOST_TEST(contains(errors, "p.yaml:3:5: steps[0].branches: a route needs branches"), errors);
  errors = steps_errors("  - {kind: route, name: r, plugin: p, function: f, branches: {}}\n");
  BOOST_TEST(contains(errors, "steps[0].branches: a route needs branches"), errors);
  errors = steps_errors(
      "  - kind: broadcast\n"
      "    name: b\n"
      "    branches: {[x, y]: [{kind: sink, name: s, stream_name: o}]}\n");
  BOOST_TEST(contains(errors, "steps[0].branches: expected a branch name, got a list"), errors);
}

BOOST_AUTO_TEST_CASE(a_branching_step_ends_its_list) {
  std::string errors = steps_errors(
      "  - kind: broadcast\n"
      "    name: fan\n"
      "    branches: {a: [{kind: sink, name: s, stream_name: o}]}\n"
      "  - {kind: sink, name: s2, stream_name: o}\n");
  BOOST_TEST(contains(errors,
                      "a broadcast ends its list of steps; 'fan' is followed by more (put "
                      "them in its branches)"),
             errors);
}

BOOST_AUTO_TEST_CASE(step_names_are_unique_across_branches) {
  std::string errors = steps_errors(
      "  - kind: broadcast\n"
      "    name: fan\n"
      "    branches:\n"
      "      a: [{kind: sink, name: s, stream_name: o}]\n"
      "      b: [{kind: sink, name: s, stream_name: o}]\n");
  BOOST_TEST(contains(errors, "steps[0].branches.b[0].name: duplicate step name 's'"), errors);
}

BOOST_AUTO_TEST_CASE(sink_types_say_what_they_need) {
  std::string errors = steps_errors("  - {kind: sink, name: s, type: file}\n");
  BOOST_TEST(contains(errors, "steps[0].path: required key is missing"), errors);
  errors = steps_errors("  - {kind: sink, name: s, type: s3}\n");
  BOOST_TEST(contains(errors, "steps[0].type: expected kafka, devnull, file or plugin, got 's3'"),
             errors);
  BOOST_TEST(!contains(errors, "did you mean"), errors);
  errors = steps_errors("  - {kind: sink, name: s, type: kafak}\n");
  BOOST_TEST(contains(errors, "got 'kafak'; did you mean 'kafka'?"), errors);
}

BOOST_AUTO_TEST_CASE(graph_shows_branches_and_segments) {
  TempDir dir;
  config::PipelineSpec spec;
  config::DeploymentConfig deployment;
  Diagnostics diag;
  BOOST_REQUIRE(load_spec(dir.write("p.yaml",
                                    "source: {name: in, stream_name: t}\n"
                                    "steps:\n"
                                    "  - {kind: map, name: m, plugin: p, function: f}\n"
                                    "  - kind: broadcast\n"
                                    "    name: fan\n"
                                    "    branches:\n"
                                    "      one: [{kind: sink, name: s1, stream_name: o1}]\n"
                                    "      two: [{kind: sink, name: s2, type: devnull}]\n"),
                          &spec, diag));
  BOOST_REQUIRE(config::load_deployment_config(
      dir.write("d.yaml",
                "pipeline:\n  segments:\n    - steps_config: {in: {bootstrap_servers: [a:1]}}\n"
                "    - steps_config: {fan: {starts_segment: true, parallelism: 3}}\n"),
      &deployment, diag));
  const std::string mermaid = config::render_graph(spec, &deployment, config::GraphFormat::mermaid);
  BOOST_TEST(contains(mermaid, "subgraph segment0[\"segment 0\"]"), mermaid);
  BOOST_TEST(contains(mermaid,
                      "  source --> n1\n  n1 --> n2\n  n2 -- \"one\" --> n3\n"
                      "  n2 -- \"two\" --> n4\n"),
             mermaid);
  BOOST_TEST(contains(mermaid,
                      "subgraph segment1[\"segment 1, 3 threads\"]\n    n2[\"fan<br/>broadcast\"]\n"
                      "    n3[\"s1<br/>sink kafka o1\"]\n"),
             mermaid);
  const std::string dot = config::render_graph(spec, nullptr, config::GraphFormat::dot);
  BOOST_TEST(contains(dot, "n1 [label=\"m\\nmap p.f\"];"), dot);
  BOOST_TEST(contains(dot, "n2 -> n4 [label=\"two\"];"), dot);
  BOOST_TEST(!contains(dot, "segment1"), dot);
}

BOOST_AUTO_TEST_CASE(window_sliding_further_than_its_size_names_the_step) {
  std::string errors = steps_errors(
      "  - kind: reduce\n    name: totals\n    plugin: p\n    function: f\n"
      "    window: {type: sliding, size_ms: 2000, slide_ms: 6000}\n"
      "  - {kind: sink, name: out, stream_name: o}\n");
  BOOST_TEST(contains(errors,
                      "steps[0].window.slide_ms: step 'totals': the window slides by "
                      "6000, more than its size 2000"),
             errors);
  errors = steps_errors(
      "  - kind: reduce\n    name: r\n    plugin: p\n    function: f\n"
      "    window: {type: sliding, size: 5, slide: 2}\n"
      "  - {kind: sink, name: out, stream_name: o}\n");
  BOOST_TEST(contains(errors, "step 'r': the slide 2 must divide the window size 5"), errors);
  errors = steps_errors(
      "  - {kind: reduce, name: r, plugin: p, function: f}\n"
      "  - {kind: sink, name: out, stream_name: o}\n");
  BOOST_TEST(contains(errors, "steps[0].window: required key is missing"), errors);
  errors = steps_errors(
      "  - {kind: reduce, name: r, plugin: p, function: f, window: {type: hopping, size: 2}}\n"
      "  - {kind: sink, name: out, stream_name: o}\n");
  BOOST_TEST(contains(errors, "steps[0].window.type: expected tumbling or sliding, got 'hopping'"),
             errors);
}

BOOST_AUTO_TEST_CASE(batch_and_codec_keys_are_checked) {
  std::string errors = steps_errors(
      "  - {kind: batch, name: b}\n"
      "  - {kind: parser, name: p, format: xml}\n"
      "  - {kind: sink, name: out, stream_name: o}\n");
  BOOST_TEST(contains(errors, "steps[0]: a batch needs max_count, max_wait_ms or both"), errors);
  BOOST_TEST(contains(errors, "steps[1].format: expected json or msgpack, got 'xml'"), errors);
}

BOOST_AUTO_TEST_CASE(graph_labels_show_windows_batches_and_formats) {
  TempDir dir;
  config::PipelineSpec spec;
  Diagnostics diag;
  BOOST_REQUIRE(
      load_spec(dir.write("p.yaml",
                          "source: {name: in, stream_name: t}\n"
                          "steps:\n"
                          "  - {kind: parser, name: p, format: msgpack}\n"
                          "  - {kind: batch, name: b, max_count: 5, max_wait_ms: 100}\n"
                          "  - kind: reduce\n    name: r\n    plugin: x\n    function: agg\n"
                          "    window: {type: sliding, size_ms: 6000, slide_ms: 2000}\n"
                          "    group_by: {plugin: x, function: key}\n"
                          "  - {kind: sink, name: s, type: devnull}\n"),
                &spec, diag));
  const std::string dot = config::render_graph(spec, nullptr, config::GraphFormat::dot);
  BOOST_TEST(contains(dot, "label=\"p\\nparser msgpack\""), dot);
  BOOST_TEST(contains(dot, "label=\"b\\nbatch json 5 records 100 ms\""), dot);
  BOOST_TEST(
      contains(dot, "label=\"r\\nreduce x.agg sliding 6000 ms every 2000 grouped by x.key\""), dot);
}

BOOST_AUTO_TEST_CASE(python_steps_name_a_dotted_callable_and_nothing_else) {
  config::PipelineSpec spec;
  Diagnostics diag;
  TempDir dir;
  BOOST_REQUIRE(
      load_spec(dir.write("p.yaml",
                          "source: {name: in, stream_name: t}\nsteps:\n"
                          "  - {kind: map, name: m, python: pkg.mod.Class.fn}\n"
                          "  - kind: reduce\n    name: r\n    python: mod.Acc\n"
                          "    window: {type: tumbling, size: 2}\n    group_by: {python: mod.key}\n"
                          "  - {kind: sink, name: out, type: devnull}\n"),
                &spec, diag));
  BOOST_TEST(spec.steps[0].python == "pkg.mod.Class.fn");
  BOOST_TEST(spec.steps[0].plugin.empty());
  BOOST_TEST(spec.steps[1].python == "mod.Acc");
  BOOST_TEST(spec.steps[1].group_python == "mod.key");

  std::string errors = steps_errors(
      "  - {kind: map, name: a, python: enrich}\n"
      "  - {kind: map, name: b, python: mod.1x}\n"
      "  - {kind: map, name: c, python: mod.f, plugin: p, function: f}\n"
      "  - {kind: map, name: d, python: mod.f, config: {x: 1}}\n"
      "  - {kind: sink, name: out, type: devnull}\n");
  BOOST_TEST((contains(errors, "p.yaml:3:") &&
              contains(errors,
                       "expected MODULE.FUNCTION, a dotted Python name such as "
                       "transforms.enrich, got 'enrich'")),
             errors);
  BOOST_TEST(contains(errors, "got 'mod.1x'"), errors);
  BOOST_TEST(contains(errors, "steps[2].python: give python, or plugin and function, not both"),
             errors);
  BOOST_TEST(contains(errors, "steps[3].config: a Python step takes no config"), errors);
}

BOOST_AUTO_TEST_CASE(python_path_is_resolved_against_the_deployment_file) {
  TempDir dir;
  config::DeploymentConfig d;
  Diagnostics diag;
  BOOST_REQUIRE(config::load_deployment_config(
      dir.write("d.yaml",
                "python_path: [lib, /abs/mods]\npipeline:\n  segments:\n"
                "    - steps_config: {}\n"),
      &d, diag));
  BOOST_REQUIRE(d.python_path.size() == 2u);
  BOOST_TEST(d.python_path[0] == dir.path() + "/lib");
  BOOST_TEST(d.python_path[1] == "/abs/mods");
}

BOOST_AUTO_TEST_CASE(state_settings_are_checked) {
  std::string errors = steps_errors(
      "  - {kind: map, name: a, plugin: p, function: f, state: {ttl_ms: 0}}\n"
      "  - {kind: filter, name: b, plugin: p, function: f, state: {max_value_bytes: x, ttl: 5}}\n"
      "  - {kind: map, name: c, plugin: p, function: f, state: 5}\n"
      "  - {kind: sink, name: s, stream_name: o}\n");
  BOOST_TEST(contains(errors, "steps[0].state.ttl_ms: expected an integer from 1"), errors);
  BOOST_TEST(contains(errors, "steps[1].state.max_value_bytes: expected an integer"), errors);
  BOOST_TEST(contains(errors, "steps[1].state.ttl: unknown key"), errors);
  BOOST_TEST(contains(errors, "steps[2].state: expected a mapping"), errors);
  // Kinds without a function of their own take no state.
  errors = steps_errors(
      "  - {kind: parser, name: a, state: {}}\n"
      "  - {kind: sink, name: s, stream_name: o}\n");
  BOOST_TEST(contains(errors, "steps[0].state: unknown key"), errors);
}

BOOST_AUTO_TEST_CASE(a_declared_state_is_read) {
  TempDir dir;
  config::PipelineSpec spec;
  Diagnostics diag;
  BOOST_REQUIRE(load_spec(dir.write("p.yaml",
                                    "source: {name: in, stream_name: t}\nsteps:\n"
                                    "  - {kind: map, name: a, plugin: p, function: f, state: {}}\n"
                                    "  - kind: route\n    name: r\n    plugin: p\n"
                                    "    function: f\n    state: {ttl_ms: 60000, "
                                    "max_value_bytes: 10}\n"
                                    "    branches: {x: [{kind: sink, name: s, stream_name: o}]}\n"),
                          &spec, diag));
  BOOST_REQUIRE(spec.steps[0].state);
  BOOST_TEST(spec.steps[0].state->ttl_ms == 0);
  BOOST_TEST(spec.steps[0].state->max_value_bytes == 1LL << 20);
  BOOST_REQUIRE(spec.steps[1].state);
  BOOST_TEST(spec.steps[1].state->ttl_ms == 60000);
  BOOST_TEST(spec.steps[1].state->max_value_bytes == 10);
  BOOST_TEST(!spec.steps[1].branches[0].steps[0].state);
}

BOOST_AUTO_TEST_CASE(state_backend_is_checked) {
  const std::string errors =
      deployment_errors("state_backend: disk\npipeline:\n  segments:\n    - steps_config: {}\n");
  BOOST_TEST(contains(errors, "state_backend: expected rocksdb or memory, got 'disk'"), errors);
}

BOOST_AUTO_TEST_CASE(state_flush_interval_is_checked) {
  const std::string errors = deployment_errors(
      "state_flush_interval_ms: -5\npipeline:\n  segments:\n    - steps_config: {}\n");
  BOOST_TEST(contains(errors, "state_flush_interval_ms"), errors);
  BOOST_TEST(contains(errors, "-5"), errors);
}

// render k8s writes every string so that it reads back the same: numbers and
// booleans as strings stay strings, multi-line texts round-trip whatever
// their spaces, blank lines, tabs or lack of a final newline.
BOOST_AUTO_TEST_CASE(k8s_objects_read_back_as_rendered) {
  TempDir dir;
  config::PipelineSpec spec;
  config::DeploymentConfig deployment;
  Diagnostics diag;
  BOOST_REQUIRE(load_spec(dir.write("p.yaml",
                                    "name: My_Pipe.Line\n"
                                    "source: {name: in, stream_name: t}\n"
                                    "steps:\n"
                                    "  - {kind: map, name: m, plugin: p, function: f}\n"
                                    "  - {kind: sink, name: s, stream_name: o}\n"),
                          &spec, diag));
  BOOST_REQUIRE(config::load_deployment_config(
      dir.write("d.yaml",
                "pipeline:\n  segments:\n    - steps_config: {in: {bootstrap_servers: [a:1]}}\n"
                "    - steps_config: {m: {starts_segment: true}}\n"),
      &deployment, diag));
  const std::vector<std::string> texts = {"a: 1\n",
                                          "0",
                                          "true",
                                          "  leading spaces\nsecond\n",
                                          "two\n\nblank\n",
                                          "ends\n\n\n",
                                          "tab\there\n",
                                          "spaces   \n   \nonly\n",
                                          "caf\xc3\xa9 \"q\" \\\n",
                                          "no final newline",
                                          "",
                                          "- item\n# comment\n"};
  std::vector<config::K8sFile> files{{"pipeline.yaml", "name: x\n", ""},
                                     {"deployment.yaml", "{}\n", ""}};
  for (size_t i = 0; i < texts.size(); ++i) {
    files.push_back({"f" + std::to_string(i), texts[i], ""});
  }
  config::K8sOptions o;
  o.image = "img:1";
  std::string error;
  const std::string text = config::render_k8s(spec, deployment, files, o, &error);
  BOOST_REQUIRE_MESSAGE(!text.empty(), error);
  const std::vector<YAML::Node> docs = YAML::LoadAll(text);
  BOOST_REQUIRE(docs.size() == 1u + 2u * 3u);  // the ConfigMap; per segment 3 objects
  for (size_t i = 0; i < texts.size(); ++i) {
    const YAML::Node v = docs[0]["data"]["f" + std::to_string(i)];
    BOOST_TEST(v.Tag() != "?", i);  // quoted or a literal block: a string, never 0 or true
    BOOST_TEST(v.as<std::string>() == texts[i], i);
  }
  BOOST_TEST(docs[1]["metadata"]["name"].as<std::string>() == "streams-my-pipe-line-s0");
  BOOST_TEST(docs[4]["kind"].as<std::string>() == "Deployment");
  BOOST_TEST(docs[4]["spec"]["template"]["spec"]["containers"][0]["args"][3].as<std::string>() ==
             "1");
  BOOST_TEST(config::k8s_name("--Hello__World--") == "hello-world");
  const std::string version = config::config_version(files);
  files[1].text = "{} \n";
  BOOST_TEST(config::config_version(files) != version);
}
