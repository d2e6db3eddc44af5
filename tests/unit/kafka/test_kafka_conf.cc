// The source consumer's fetch.wait.max.ms: chosen by the cluster's id (the
// dev broker's mock cluster, Kafka, or no answer), set in the consumer's
// conf, and left to override_params when they set it. Its auto.offset.reset
// under strict_offset_reset.
#define BOOST_TEST_MODULE kafka_conf
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <boost/test/unit_test.hpp>
#include <chrono>

#include "kafka/handles.h"
#include "kafka/kafka_conf.h"
#include "kafka/kafka_source.h"
#include "test_util.h"

using namespace streams;

namespace {

// A generation whose source reads from `servers`, with `overrides` (YAML
// flow mapping, may be empty) as its override_params and `extra` (", key:
// value" pairs) among its settings.
std::shared_ptr<const pipeline::Generation> generation(const testing::TempDir& dir,
                                                       const std::string& servers,
                                                       const std::string& overrides = "",
                                                       const std::string& extra = "") {
  config::Diagnostics diag;
  config::PipelineSpec spec;
  config::DeploymentConfig deployment;
  const std::string text =
      "pipeline:\n  segments:\n    - steps_config:\n        in: "
      "{bootstrap_servers: [\"" +
      servers + "\"]" + (overrides.empty() ? "" : ", override_params: " + overrides) + extra +
      "}\n        out: {bootstrap_servers: [\"" + servers + "\"]}\n";
  BOOST_REQUIRE(testing::load_spec(dir.write("p.yaml", testing::pipeline_yaml("")), &spec, diag));
  BOOST_REQUIRE(config::load_deployment_config(dir.write("d.yaml", text), &deployment, diag));
  plugin::PluginRegistry registry(TEST_PLUGINS_DIR);
  auto g = pipeline::build_generation(std::move(spec), std::move(deployment), 0, registry, diag);
  BOOST_REQUIRE_MESSAGE(g, testing::all_errors(diag));
  return g;
}

// `name`'s value in `conf`, which it destroys.
std::string value_in(rd_kafka_conf_t* conf, const char* name) {
  char value[64];
  size_t size = sizeof value;
  BOOST_REQUIRE(rd_kafka_conf_get(conf, name, value, &size) == RD_KAFKA_CONF_OK);
  rd_kafka_conf_destroy(conf);
  return value;
}

std::string fetch_wait_in(rd_kafka_conf_t* conf) { return value_in(conf, "fetch.wait.max.ms"); }

}  // namespace

BOOST_AUTO_TEST_CASE(the_wait_follows_the_cluster_id) {
  BOOST_TEST(kafka::fetch_wait_ms("mockCluster1571b7c5fb1c") == kafka::kDevBrokerFetchWaitMs);
  BOOST_TEST(kafka::fetch_wait_ms("") == kafka::kDevBrokerFetchWaitMs);  // no answer
  BOOST_TEST(kafka::fetch_wait_ms("MkU3OEVBNTcwNTJENDM2Qk") == kafka::kKafkaFetchWaitMs);
  BOOST_TEST(kafka::fetch_wait_ms("redpanda.7f2c") == kafka::kKafkaFetchWaitMs);
  BOOST_TEST(kafka::fetch_wait_ms("mock") == kafka::kKafkaFetchWaitMs);
}

BOOST_AUTO_TEST_CASE(the_consumer_conf_takes_the_wait_and_overrides_win) {
  testing::TempDir dir;
  std::string error;
  auto g = generation(dir, "127.0.0.1:1");
  BOOST_TEST(!kafka::overrides_fetch_wait(*g));
  BOOST_TEST(fetch_wait_in(kafka::consumer_conf(*g, "t", &error, 100)) == "100");
  BOOST_TEST(fetch_wait_in(kafka::consumer_conf(*g, "t", &error)) == "5");

  auto set = generation(dir, "127.0.0.1:1", "{fetch.wait.max.ms: \"50\"}");
  BOOST_TEST(kafka::overrides_fetch_wait(*set));
  BOOST_TEST(fetch_wait_in(kafka::consumer_conf(*set, "t", &error, 100)) == "50");
  // Set by the user: the cluster is not asked (nothing listens at :1, where
  // asking would take the whole minute).
  const auto start = std::chrono::steady_clock::now();
  BOOST_TEST(kafka::source_fetch_wait(*set, "t", 60000) == kafka::kDevBrokerFetchWaitMs);
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(5)));
}

// Strict: librdkafka fails a partition whose committed offset is gone, and
// KafkaSource starts those without one by the policy itself.
BOOST_AUTO_TEST_CASE(strict_offset_reset_leaves_librdkafka_no_policy) {
  testing::TempDir dir;
  std::string error;
  auto lenient = generation(dir, "127.0.0.1:1", "", ", auto_offset_reset: earliest");
  BOOST_TEST(value_in(kafka::consumer_conf(*lenient, "t", &error, 5), "auto.offset.reset") ==
             "smallest");  // librdkafka's name for earliest
  auto strict = generation(dir, "127.0.0.1:1", "",
                           ", auto_offset_reset: earliest, strict_offset_reset: true");
  BOOST_TEST(value_in(kafka::consumer_conf(*strict, "t", &error, 5), "auto.offset.reset") ==
             "error");
}

BOOST_AUTO_TEST_CASE(the_dev_broker_and_no_answer_get_the_short_wait) {
  // librdkafka's mock cluster, as `streams-host dev-broker` serves it.
  char reason[512];
  kafka::Client owner(rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), reason, sizeof reason));
  BOOST_REQUIRE(owner);
  rd_kafka_mock_cluster_t* mock = rd_kafka_mock_cluster_new(owner.get(), 1);
  BOOST_REQUIRE(mock);
  testing::TempDir dir;
  auto dev = generation(dir, rd_kafka_mock_cluster_bootstraps(mock));
  const std::string id = kafka::source_cluster_id(*dev, "t", 10000);
  BOOST_TEST(id.rfind("mockCluster", 0) == 0, id);
  BOOST_TEST(kafka::source_fetch_wait(*dev, "t", 10000) == kafka::kDevBrokerFetchWaitMs);
  rd_kafka_mock_cluster_destroy(mock);
  // Nothing listens: no id within the bound, the short wait.
  auto nobody = generation(dir, "127.0.0.1:1");
  BOOST_TEST(kafka::source_cluster_id(*nobody, "t", 200).empty());
  BOOST_TEST(kafka::source_fetch_wait(*nobody, "t", 200) == kafka::kDevBrokerFetchWaitMs);
}
