// Connection settings: the librdkafka properties in a step's override_params
// that say how to reach and authenticate with a cluster (security.protocol,
// ssl.*, ssl_*, sasl.*, enable.ssl.*, enable.sasl.*). Every Kafka client the
// host makes on the source's brokers takes the source's, under its own
// (kafka/kafka_conf.h; a segment's hop, pipeline/segments.h). Pure logic.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/deployment_config.h"

namespace streams::config {

using Settings = std::vector<std::pair<std::string, std::string>>;

bool is_connection_setting(std::string_view key);
// The connection settings among `params`, in their order.
Settings connection_settings(const Settings& params);
// Whether `key`'s value is a secret, never printed nor written where it can
// be read: a password, a secret, a private key or an OAUTHBEARER config.
bool is_secret_setting(std::string_view key);
// Whether two bootstrap lists name the same brokers (in any order).
bool same_brokers(const std::vector<std::string>& a, const std::vector<std::string>& b);
// Whether the DLQ of `source` is on the source's brokers (it names none of
// its own, or the same): then its producer takes the source's connection
// settings.
bool dlq_on_source_brokers(const StepDeployment& source);

}  // namespace streams::config
