// The source consumer's fetch.wait.max.ms: chosen by the cluster's id (the
// dev broker's mock cluster, Kafka, or no answer), set in the consumer's
// conf, and left to override_params when they set it. Its auto.offset.reset
// under strict_offset_reset.
#define BOOST_TEST_MODULE kafka_conf
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <boost/test/unit_test.hpp>
#include <chrono>

#include "config/connection_settings.h"
#include "kafka/handles.h"
#include "kafka/kafka_conf.h"
#include "kafka/kafka_source.h"
#include "test_util.h"

using namespace streams;

namespace {

// A generation whose steps_config is `steps` (YAML: the `in` source and
// the `out` sink).
std::shared_ptr<const pipeline::Generation> generation_of(const testing::TempDir& dir,
                                                          const std::string& steps) {
  config::Diagnostics diag;
  config::PipelineSpec spec;
  config::DeploymentConfig deployment;
  const std::string text = "pipeline:\n  segments:\n    - steps_config:\n" + steps;
  BOOST_REQUIRE(testing::load_spec(dir.write("p.yaml", testing::pipeline_yaml("")), &spec, diag));
  BOOST_REQUIRE(config::load_deployment_config(dir.write("d.yaml", text), &deployment, diag));
  plugin::PluginRegistry registry(TEST_PLUGINS_DIR);
  auto g = pipeline::build_generation(std::move(spec), std::move(deployment), 0, registry, diag);
  BOOST_REQUIRE_MESSAGE(g, testing::all_errors(diag));
  return g;
}

// A generation whose source reads from `servers`, with `overrides` (YAML
// flow mapping, may be empty) as its override_params and `extra` (", key:
// value" pairs) among its settings.
std::shared_ptr<const pipeline::Generation> generation(const testing::TempDir& dir,
                                                       const std::string& servers,
                                                       const std::string& overrides = "",
                                                       const std::string& extra = "") {
  return generation_of(dir, "        in: {bootstrap_servers: [\"" + servers + "\"]" +
                                (overrides.empty() ? "" : ", override_params: " + overrides) +
                                extra + "}\n        out: {bootstrap_servers: [\"" + servers +
                                "\"]}\n");
}

// `name`'s value in `conf`, which it destroys.
std::string value_in(rd_kafka_conf_t* conf, const char* name) {
  BOOST_REQUIRE(conf);
  char value[256];
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

// A cluster that wants TLS and SASL: the source's connection settings reach
// every client the host makes on the same brokers, under their own.
const char kSecured[] =
    "override_params: {security.protocol: SASL_SSL, sasl.mechanisms: PLAIN, sasl.username: "
    "reader, sasl.password: hunter2, ssl.ca.location: /etc/ssl/certs/ca.pem, "
    "socket.timeout.ms: \"7000\"}";

BOOST_AUTO_TEST_CASE(clients_on_the_source_brokers_take_its_connection_settings) {
  testing::TempDir dir;
  std::string error;
  auto g = generation_of(dir, std::string("        in: {bootstrap_servers: [b1:9092, b2:9092], ") +
                                  kSecured + ", dlq: {topic: in-dlq}}\n" +
                                  "        out: {bootstrap_servers: [b2:9092, b1:9092]}\n");
  BOOST_TEST(value_in(kafka::producer_conf(*g, 0, "t", &error), "security.protocol") == "sasl_ssl");
  BOOST_TEST(value_in(kafka::producer_conf(*g, 0, "t", &error), "sasl.username") == "reader");
  BOOST_TEST(value_in(kafka::producer_conf(*g, 0, "t", &error), "sasl.password") == "hunter2");
  BOOST_TEST(value_in(kafka::producer_conf(*g, 0, "t", &error), "ssl.ca.location") ==
             "/etc/ssl/certs/ca.pem");
  // Only the connection settings: the source's other ones stay its own.
  BOOST_TEST(value_in(kafka::producer_conf(*g, 0, "t", &error), "socket.timeout.ms") == "60000");
  BOOST_TEST(value_in(kafka::dlq_producer_conf(*g, "t", &error), "sasl.username") == "reader");
  BOOST_TEST(value_in(kafka::dlq_producer_conf(*g, "t", &error), "socket.timeout.ms") == "60000");
  BOOST_TEST(value_in(kafka::changelog_producer_conf(*g, "t", &error), "sasl.username") ==
             "reader");
  BOOST_TEST(value_in(kafka::consumer_conf(*g, "t", &error), "socket.timeout.ms") == "7000");
}

BOOST_AUTO_TEST_CASE(a_client_s_own_settings_win_and_other_brokers_take_none) {
  testing::TempDir dir;
  std::string error;
  auto g = generation_of(
      dir, std::string("        in: {bootstrap_servers: [b1:9092], ") + kSecured +
               ", dlq: {topic: in-dlq, override_params: {sasl.username: dlq-writer}}}\n" +
               "        out: {bootstrap_servers: [b1:9092], override_params: {sasl.username: "
               "writer, sasl.password: s3cret}}\n");
  BOOST_TEST(value_in(kafka::producer_conf(*g, 0, "t", &error), "sasl.username") == "writer");
  BOOST_TEST(value_in(kafka::producer_conf(*g, 0, "t", &error), "sasl.password") == "s3cret");
  BOOST_TEST(value_in(kafka::producer_conf(*g, 0, "t", &error), "security.protocol") == "sasl_ssl");
  BOOST_TEST(value_in(kafka::dlq_producer_conf(*g, "t", &error), "sasl.username") == "dlq-writer");
  BOOST_TEST(value_in(kafka::dlq_producer_conf(*g, "t", &error), "sasl.password") == "hunter2");

  auto elsewhere =
      generation_of(dir, std::string("        in: {bootstrap_servers: [b1:9092], ") + kSecured +
                             ", dlq: {topic: in-dlq, bootstrap_servers: [other:9092]}}\n" +
                             "        out: {bootstrap_servers: [other:9092]}\n");
  BOOST_TEST(value_in(kafka::producer_conf(*elsewhere, 0, "t", &error), "security.protocol") ==
             "plaintext");
  BOOST_TEST(value_in(kafka::dlq_producer_conf(*elsewhere, "t", &error), "security.protocol") ==
             "plaintext");
  BOOST_TEST(value_in(kafka::dlq_producer_conf(*elsewhere, "t", &error), "bootstrap.servers") ==
             "other:9092");
}

BOOST_AUTO_TEST_CASE(connection_settings_and_secrets_are_told_apart) {
  for (const char* key : {"security.protocol", "ssl.ca.location", "ssl_key", "sasl.mechanisms",
                          "sasl.oauthbearer.client.id", "enable.ssl.certificate.verification",
                          "enable.sasl.oauthbearer.unsecure.jwt"}) {
    BOOST_TEST(config::is_connection_setting(key), key);
  }
  for (const char* key : {"bootstrap.servers", "client.id", "socket.timeout.ms", "linger.ms",
                          "session.timeout.ms", "security"}) {
    BOOST_TEST(!config::is_connection_setting(key), key);
  }
  BOOST_TEST(kafka::printable_setting("sasl.password", "hunter2") == "sasl.password=(hidden)");
  BOOST_TEST(kafka::printable_setting("ssl.key.password", "x") == "ssl.key.password=(hidden)");
  BOOST_TEST(kafka::printable_setting("ssl.key.pem", "-----BEGIN") == "ssl.key.pem=(hidden)");
  BOOST_TEST(kafka::printable_setting("sasl.oauthbearer.client.secret", "x") ==
             "sasl.oauthbearer.client.secret=(hidden)");
  BOOST_TEST(kafka::printable_setting("sasl.username", "reader") == "sasl.username=reader");
  BOOST_TEST(config::same_brokers({"a:1", "b:2"}, {"b:2", "a:1"}));
  BOOST_TEST(!config::same_brokers({"a:1", "b:2"}, {"a:1"}));
}

// A setting librdkafka refuses is reported where the file set it, without
// a value that may be a secret.
BOOST_AUTO_TEST_CASE(a_refused_setting_names_its_place_and_hides_a_secret) {
  testing::TempDir dir;
  std::string error;
  auto typo = generation_of(dir,
                            "        in: {bootstrap_servers: [b1:9092], override_params: "
                            "{sasl.pasword: hunter2}}\n"
                            "        out: {bootstrap_servers: [b1:9092]}\n");
  BOOST_TEST(!kafka::consumer_conf(*typo, "t", &error));
  BOOST_TEST(error.find("d.yaml") != std::string::npos, error);
  BOOST_TEST(error.find("override_params.sasl.pasword") != std::string::npos, error);
  BOOST_TEST(error.find("hunter2") == std::string::npos, error);
  // The sink inherits it (a connection setting), and reports it the same.
  error.clear();
  BOOST_TEST(!kafka::producer_conf(*typo, 0, "t", &error));
  BOOST_TEST(error.find("hunter2") == std::string::npos, error);
  // A known setting's value is shown, unless it is a secret.
  auto bad = generation_of(dir,
                           "        in: {bootstrap_servers: [b1:9092], override_params: "
                           "{security.protocol: carrier-pigeon}}\n"
                           "        out: {bootstrap_servers: [b1:9092]}\n");
  BOOST_TEST(!kafka::consumer_conf(*bad, "t", &error));
  BOOST_TEST(error.find("security.protocol=carrier-pigeon") != std::string::npos, error);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  BOOST_TEST(kafka::set_setting(conf, "sasl.password", "hunter2", &error));
  rd_kafka_conf_destroy(conf);
}

// What librdkafka checks only when it makes a client is checked at load,
// at the step that brings it, with no broker contacted.
BOOST_AUTO_TEST_CASE(settings_librdkafka_checks_when_it_makes_a_client_are_checked_at_load) {
  testing::TempDir dir;
  std::string error;
  auto no_user = generation_of(dir,
                               "        in: {bootstrap_servers: [b1:9092], override_params: "
                               "{security.protocol: SASL_SSL, sasl.mechanisms: PLAIN}}\n"
                               "        out: {bootstrap_servers: [b1:9092]}\n");
  config::Diagnostics diag;
  kafka::check_kafka_confs(*no_user, diag);
  const std::string errors = testing::all_errors(diag);
  BOOST_TEST(errors.find("steps_config.in: librdkafka refuses these settings") != std::string::npos,
             errors);
  BOOST_TEST(errors.find("sasl.username and sasl.password must be set") != std::string::npos,
             errors);
  // The sink on the same brokers inherits the mistake: it is said once, at the source.
  no_user->sinks[0].type->check(*no_user, 0, diag);
  BOOST_TEST(diag.errors().size() == 1u, testing::all_errors(diag));

  config::Diagnostics ca_diag;
  kafka::check_client(kafka::consumer_conf(*generation(dir, "b1:9092",
                                                       "{security.protocol: SSL, ssl.ca.location: "
                                                       "/nonexistent/ca.pem}"),
                                           "t", &error),
                      true, config::Location{"d.yaml", 3, 4, "in"}, ca_diag);
  BOOST_TEST(testing::all_errors(ca_diag).find("ssl.ca.location") != std::string::npos,
             testing::all_errors(ca_diag));

  config::Diagnostics fine;
  kafka::check_kafka_confs(*generation(dir, "b1:9092"), fine);
  BOOST_TEST(fine.ok(), testing::all_errors(fine));
}
