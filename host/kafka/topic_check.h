// The Kafka topics a generation reads and writes, looked up on their
// brokers, for `streams-host validate --topics` (control plane): one
// metadata request for every topic per cluster, so nothing is created, not
// even where the brokers create topics on use.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <string>
#include <vector>

#include "pipeline/generation.h"

namespace streams::kafka {

// Topic name -> partition count, of every topic the cluster of `rk` has
// (one metadata request; nothing is created). False with *error.
bool topic_partitions(rd_kafka_t* rk, int timeout_ms, std::map<std::string, int>* out,
                      std::string* error);

struct TopicUse {
  std::string role;  // "source", "sink out", "dead-letter queue", "changelog of count"...
  std::string topic;
  std::string brokers;  // bootstrap servers, comma-separated
  int partitions = -1;  // on the brokers; -1: missing
  // What the host does about it at start or at its first record: empty
  // when nothing is wrong, else `fatal` tells whether the host stops on it.
  std::string says;
  bool fatal = false;
};

// Every topic of `g` (the source, its Kafka sinks, the dead-letter queue,
// the changelogs of stateful steps), in that order. False with *error when
// a cluster does not answer within `timeout_ms`.
bool check_topics(const pipeline::Generation& g, int timeout_ms, std::vector<TopicUse>* out,
                  std::string* error);

}  // namespace streams::kafka
