// Builds librdkafka configurations for the source consumer and the sink
// producers from a Generation (control plane). The host's defaults come
// first, the deployment's `override_params` last.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/diagnostics.h"
#include "pipeline/generation.h"

typedef struct rd_kafka_conf_s rd_kafka_conf_t;

namespace streams::kafka {

// How the clients take the source's connection settings: see
// config/connection_settings.h.
// "key=value" for a message, the value hidden ("key=(hidden)") when it is a
// secret: a password, a secret, a private key or an OAUTHBEARER config.
std::string printable_setting(const std::string& key, const std::string& value);
// Sets `key` in `conf`; false with *error ("key=value: librdkafka's reason",
// the value left out for a key librdkafka does not know, which may be a
// misspelt secret, and hidden for a secret).
bool set_setting(rd_kafka_conf_t* conf, const std::string& key, const std::string& value,
                 std::string* error);

// librdkafka's log lines through the host's logger: at debug level, but a
// consumer's offset reset after an error (records skipped or read again) as
// a warning. Every conf built here has it; a tool's own conf takes it too.
void route_logs(rd_kafka_conf_t* conf);
// A tool's clients: as route_logs, but librdkafka's warnings and errors as
// warnings ("kafka CLIENT: what"), a tool having no error callback.
void route_tool_logs(rd_kafka_conf_t* conf);

// fetch.wait.max.ms of the source's consumer, unless its override_params
// set it. The dev broker (librdkafka's mock cluster, whose cluster id starts
// "mockCluster") holds every fetch for the whole wait even when data arrives,
// so there it is 5 ms, for latency. Kafka answers a fetch as soon as data
// arrives, so there the wait bounds only fetches of idle partitions: 100 ms
// sends a broker 10 empty fetches a second from an idle host instead of 200.
// Not librdkafka's 500: a client has one fetch in flight per broker, so a
// partition resumed after backpressure, or newly assigned, waits for that
// fetch to come back, up to the whole wait when the others are idle. An
// empty id (the cluster did not answer) gets 5 ms, as before it was asked.
constexpr int kDevBrokerFetchWaitMs = 5;
constexpr int kKafkaFetchWaitMs = 100;
int fetch_wait_ms(std::string_view cluster_id);
// Whether the source's override_params set fetch.wait.max.ms.
bool overrides_fetch_wait(const pipeline::Generation& g);

// Returns a new conf (caller owns it) or nullptr with *error naming the
// deployment file, key and librdkafka's reason. `fetch_wait`: the
// fetch.wait.max.ms default (override_params come after it).
rd_kafka_conf_t* consumer_conf(const pipeline::Generation& g, const std::string& client_id,
                               std::string* error, int fetch_wait = kDevBrokerFetchWaitMs);
// The producer of Kafka sink `sink` (an index into g.sinks).
rd_kafka_conf_t* producer_conf(const pipeline::Generation& g, size_t sink,
                               const std::string& client_id, std::string* error);

// The producer of the source's dead-letter queue (`dlq`; brokers default to
// the source's, and then so do its connection settings).
rd_kafka_conf_t* dlq_producer_conf(const pipeline::Generation& g, const std::string& client_id,
                                   std::string* error);

// The changelog's producer and (restore) consumer: the source's brokers
// and override_params (its credentials), no group.
rd_kafka_conf_t* changelog_producer_conf(const pipeline::Generation& g,
                                         const std::string& client_id, std::string* error);
rd_kafka_conf_t* changelog_consumer_conf(const pipeline::Generation& g,
                                         const std::string& client_id, std::string* error);

// bootstrap_servers as librdkafka takes them: "host:port,host:port".
std::string join_brokers(const std::vector<std::string>& servers);

// The control topic's clients (kafka/control_topic.h): the source's
// brokers and connection settings.
std::vector<std::pair<std::string, std::string>> control_settings(const pipeline::Generation& g);

// Adds an error at `where` unless librdkafka makes a client of `conf`, which
// it destroys: some settings are checked only then (TLS and SASL: a CA file,
// a mechanism, a missing username; settings that contradict each other). No
// broker is contacted: the client is made without bootstrap servers. A
// refusal `diag` already holds (another client's, with the same inherited
// settings) is not added again.
void check_client(rd_kafka_conf_t* conf, bool consumer, const config::Location& where,
                  config::Diagnostics& diag);

// Checks the source's topic, its consumer conf and its DLQ producer conf,
// adding one diagnostic per problem (sinks are checked by their types).
void check_kafka_confs(const pipeline::Generation& g, config::Diagnostics& diag);

// Kafka's rule for topic names: 1 to 249 of [a-zA-Z0-9._-], not "." or "..".
bool legal_topic(const std::string& topic);
// An error at `at` unless `topic` is a legal Kafka topic name.
void check_topic(const std::string& topic, config::Location at, config::Diagnostics& diag);

}  // namespace streams::kafka
