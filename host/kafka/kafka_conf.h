// Builds librdkafka configurations for the source consumer and the sink
// producers from a Generation (control plane). The host's defaults come
// first, the deployment's `override_params` last.
#pragma once

#include <string>

#include "config/diagnostics.h"
#include "pipeline/generation.h"

typedef struct rd_kafka_conf_s rd_kafka_conf_t;

namespace streams::kafka {

// Returns a new conf (caller owns it) or nullptr with *error naming the
// deployment file, key and librdkafka's reason.
rd_kafka_conf_t* consumer_conf(const pipeline::Generation& g, const std::string& client_id,
                               std::string* error);
// The producer of Kafka sink `sink` (an index into g.sinks).
rd_kafka_conf_t* producer_conf(const pipeline::Generation& g, size_t sink,
                               const std::string& client_id, std::string* error);

// The producer of the source's dead-letter queue (`dlq`; brokers default to
// the source's).
rd_kafka_conf_t* dlq_producer_conf(const pipeline::Generation& g, const std::string& client_id,
                                   std::string* error);

// The changelog's producer and (restore) consumer: the source's brokers
// and override_params (its credentials), no group.
rd_kafka_conf_t* changelog_producer_conf(const pipeline::Generation& g,
                                         const std::string& client_id, std::string* error);
rd_kafka_conf_t* changelog_consumer_conf(const pipeline::Generation& g,
                                         const std::string& client_id, std::string* error);

// Checks the source's topic, its consumer conf and its DLQ producer conf,
// adding one diagnostic per problem (sinks are checked by their types).
void check_kafka_confs(const pipeline::Generation& g, config::Diagnostics& diag);

// An error at `at` unless `topic` is a legal Kafka topic name.
void check_topic(const std::string& topic, config::Location at, config::Diagnostics& diag);

}  // namespace streams::kafka
