#include "devbroker/dev_broker.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <thread>

#include "common/log.h"
#include "kafka/kafka_conf.h"

// librdkafka 2.0.2 has no API to choose the mock brokers' ports: each binds
// 127.0.0.1:0. While the cluster is being created, this interposed bind()
// rewrites port 0 to the next requested port. Outside that window it is a
// plain pass-through.
namespace {

std::atomic<int> g_next_port{0};

// SIGUSR1 takes every broker down (connections closed, none accepted),
// SIGUSR2 brings them back: a sink cluster held back on demand, for tests.
volatile sig_atomic_t g_want_down = 0;
void on_down(int) { g_want_down = 1; }
void on_up(int) { g_want_down = 0; }

// SIGHUP makes the next requests fail with retriable errors: produce,
// fetch and offset commit, a few each (Kafka API keys 0, 1 and 8).
volatile sig_atomic_t g_inject = 0;
void on_inject(int) { g_inject = 1; }

// SIGRTMIN makes the --unknown-topic topics known (created with the mock's
// default partitions): a topic an operator creates while a host waits for it.
volatile sig_atomic_t g_create = 0;
void on_create(int) { g_create = 1; }

void create_unknown(rd_kafka_mock_cluster_t* cluster, const std::vector<std::string>& topics) {
  for (const std::string& name : topics) {
    rd_kafka_mock_topic_set_error(cluster, name.c_str(), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  std::printf("topics created\n");
  std::fflush(stdout);
}

void inject_errors(rd_kafka_mock_cluster_t* cluster) {
  rd_kafka_mock_push_request_errors(
      cluster, 0, 5, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
      RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
  rd_kafka_mock_push_request_errors(cluster, 1, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                    RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  rd_kafka_mock_push_request_errors(cluster, 8, 2, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  std::printf("errors injected\n");
  std::fflush(stdout);
}

void set_brokers_up(rd_kafka_mock_cluster_t* cluster, int brokers, bool up) {
  for (int id = 1; id <= brokers; ++id) {
    if (up)
      rd_kafka_mock_broker_set_up(cluster, id);
    else
      rd_kafka_mock_broker_set_down(cluster, id);
  }
  std::printf("brokers %s\n", up ? "up" : "down");
  std::fflush(stdout);
}

using bind_fn = int (*)(int, const struct sockaddr*, socklen_t);

bind_fn real_bind() {
  static bind_fn fn = reinterpret_cast<bind_fn>(dlsym(RTLD_NEXT, "bind"));
  return fn;
}

}  // namespace

extern "C" int bind(int fd, const struct sockaddr* addr, socklen_t len) {
  const int port = g_next_port.load();
  if (port == 0 || !addr || addr->sa_family != AF_INET || len < sizeof(sockaddr_in)) {
    return real_bind()(fd, addr, len);
  }
  sockaddr_in wanted = *reinterpret_cast<const sockaddr_in*>(addr);
  if (wanted.sin_port != 0) return real_bind()(fd, addr, len);
  wanted.sin_port = htons(static_cast<uint16_t>(port));
  g_next_port.store(port + 1);
  int rc = real_bind()(fd, reinterpret_cast<const sockaddr*>(&wanted), sizeof wanted);
  if (rc != 0) {
    // The mock cluster would abort on an assert; fail with a clear line.
    std::fprintf(stderr, "dev-broker: cannot listen on 127.0.0.1:%d: %s\n", port,
                 std::strerror(errno));
    std::_Exit(2);
  }
  return rc;
}

namespace streams::devbroker {
namespace {

// Empty if 127.0.0.1:port can be bound now, else the reason.
std::string probe_port(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::strerror(errno);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string why;
  if (real_bind()(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    why = std::strerror(errno);
  }
  ::close(fd);
  return why;
}

}  // namespace

bool parse_topic(const std::string& text, std::pair<std::string, int>* out, std::string* error) {
  const size_t colon = text.rfind(':');
  std::string name = text.substr(0, colon);
  int partitions = 4;
  if (colon != std::string::npos) {
    const std::string count = text.substr(colon + 1);
    char* end = nullptr;
    long n = std::strtol(count.c_str(), &end, 10);
    if (count.empty() || *end != '\0' || n < 1 || n > 10000) {
      *error = "--topic " + text + ": expected NAME[:PARTITIONS] with 1..10000 partitions";
      return false;
    }
    partitions = static_cast<int>(n);
  }
  if (name.empty()) {
    *error = "--topic " + text + ": the topic name is empty";
    return false;
  }
  if (!kafka::legal_topic(name)) {
    *error = "--topic " + text + ": '" + name +
             "' is not a valid Kafka topic name (1 to 249 of letters, digits, '.', '_' and '-', "
             "not '.' or '..')";
    return false;
  }
  *out = {name, partitions};
  return true;
}

int run_dev_broker(const DevBrokerOptions& options, const std::atomic<bool>& stop) {
  for (int i = 0; i < options.brokers; ++i) {
    std::string why = probe_port(options.port + i);
    if (!why.empty()) {
      std::fprintf(stderr, "dev-broker: port %d is not available on 127.0.0.1: %s\n",
                   options.port + i, why.c_str());
      return 2;
    }
  }
  char reason[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", reason, sizeof reason);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
  if (!rk) {
    std::fprintf(stderr, "dev-broker: %s\n", reason);
    return 1;
  }
  g_next_port.store(options.port);
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, options.brokers);
  g_next_port.store(0);
  if (!cluster) {
    std::fprintf(stderr, "dev-broker: cannot create the mock cluster\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  for (const auto& [name, partitions] : options.topics) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, name.c_str(), partitions, 1);
    if (err) {
      std::fprintf(stderr, "dev-broker: cannot create topic %s: %s\n", name.c_str(),
                   rd_kafka_err2str(err));
    }
  }
  for (const std::string& name : options.unknown_topics) {
    rd_kafka_mock_topic_set_error(cluster, name.c_str(), RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  }
  for (int i = 0; i < options.reject_produce; ++i) {
    rd_kafka_mock_push_request_errors(cluster, 0, 1, RD_KAFKA_RESP_ERR_INVALID_RECORD);
  }
  std::printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  std::fflush(stdout);
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = &on_down;
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = &on_up;
  sigaction(SIGUSR2, &sa, nullptr);
  sa.sa_handler = &on_inject;
  sigaction(SIGHUP, &sa, nullptr);
  sa.sa_handler = &on_create;
  sigaction(SIGRTMIN, &sa, nullptr);
  bool down = false;
  while (!stop.load()) {
    if (down != (g_want_down != 0)) {
      down = !down;
      set_brokers_up(cluster, options.brokers, !down);
    }
    if (g_inject) {
      g_inject = 0;
      inject_errors(cluster);
    }
    if (g_create) {
      g_create = 0;
      create_unknown(cluster, options.unknown_topics);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}

}  // namespace streams::devbroker
