// `streams-host dev-broker`: a Kafka-protocol broker for development and
// tests, served by librdkafka's mock cluster on fixed loopback ports.
#pragma once

#include <atomic>
#include <string>
#include <utility>
#include <vector>

namespace streams::devbroker {

struct DevBrokerOptions {
  int port = 9092;  // broker i listens on port + i
  int brokers = 1;
  std::vector<std::pair<std::string, int>> topics;  // name, partitions
  // The first `reject_produce` produce requests fail with INVALID_RECORD, a
  // permanent error for the records they carry (a broker refusing records).
  int reject_produce = 0;
  // Topics the brokers answer as unknown (UNKNOWN_TOPIC_OR_PART) in
  // metadata: as a cluster that does not create topics on use answers for
  // one nobody created (a typo, a topic not made yet), until SIGRTMIN.
  std::vector<std::string> unknown_topics;
};

// Parses "NAME[:PARTITIONS]". False with *error on bad input.
bool parse_topic(const std::string& text, std::pair<std::string, int>* out, std::string* error);

// Serves until `stop` becomes true. Prints "bootstrap=HOST:PORT[,...]" on
// stdout once ready. Fault injection for tests: SIGUSR1 takes every broker
// down and SIGUSR2 brings them back, printing "brokers down" / "brokers up";
// SIGHUP makes the next few produce, fetch and offset commit requests fail
// with retriable errors, printing "errors injected"; SIGRTMIN makes the
// unknown topics known, printing "topics created". Returns the exit status
// (2 if a port is busy).
int run_dev_broker(const DevBrokerOptions& options, const std::atomic<bool>& stop);

}  // namespace streams::devbroker
