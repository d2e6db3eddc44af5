#include "kafka/topic_check.h"

#include <map>

#include "config/connection_settings.h"
#include "kafka/changelog.h"
#include "kafka/handles.h"
#include "kafka/kafka_conf.h"

namespace streams::kafka {
namespace {

// The clusters' topics, asked once a cluster (by its brokers).
class Clusters {
 public:
  explicit Clusters(int timeout_ms) : timeout_ms_(timeout_ms) {}

  // Looks `use` up with a client of `type` and `conf` (taken) on
  // `use->brokers`.
  bool look_up(rd_kafka_type_t type, rd_kafka_conf_t* conf, TopicUse* use, std::string* error) {
    auto it = topics_.find(use->brokers);
    if (it == topics_.end()) {
      std::map<std::string, int> topics;
      if (!list(type, conf, use->brokers, &topics, error)) return false;
      it = topics_.emplace(use->brokers, std::move(topics)).first;
    } else {
      rd_kafka_conf_destroy(conf);
    }
    const auto found = it->second.find(use->topic);
    use->partitions = found == it->second.end() ? -1 : found->second;
    return true;
  }

 private:
  bool list(rd_kafka_type_t type, rd_kafka_conf_t* conf, const std::string& brokers,
            std::map<std::string, int>* out, std::string* error) {
    route_tool_logs(conf);
    char reason[512];
    Client client(rd_kafka_new(type, conf, reason, sizeof reason));
    if (!client) {
      rd_kafka_conf_destroy(conf);
      *error = std::string("a client for ") + brokers + ": " + reason;
      return false;
    }
    if (topic_partitions(client.get(), timeout_ms_, out, error)) return true;
    *error += " (on " + brokers + ")";
    return false;
  }

  const int timeout_ms_;
  std::map<std::string, std::map<std::string, int>> topics_;  // by brokers
};

void judge_written(TopicUse* use, const char* when) {
  if (use->partitions >= 0) return;
  use->fatal = true;
  use->says = std::string("missing: the host stops at ") + when + "; create it";
}

}  // namespace

bool topic_partitions(rd_kafka_t* rk, int timeout_ms, std::map<std::string, int>* out,
                      std::string* error) {
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, timeout_ms);
  if (err) {
    *error = std::string("listing the cluster's topics: ") + rd_kafka_err2str(err);
    return false;
  }
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (!md->topics[i].err) (*out)[md->topics[i].topic] = md->topics[i].partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  return true;
}

bool check_topics(const pipeline::Generation& g, int timeout_ms, std::vector<TopicUse>* out,
                  std::string* error) {
  Clusters clusters(timeout_ms);
  out->clear();
  const config::StepDeployment& source = g.source_deployment();
  rd_kafka_conf_t* conf = nullptr;
  // `c`: a conf of the client of that `type` the host would use.
  auto add = [&](rd_kafka_type_t type, std::string role, std::string topic, std::string brokers,
                 rd_kafka_conf_t* c) {
    TopicUse use;
    use.role = std::move(role);
    use.topic = std::move(topic);
    use.brokers = std::move(brokers);
    if (!c || !clusters.look_up(type, c, &use, error)) return false;
    out->push_back(std::move(use));
    return true;
  };

  if (!(conf = consumer_conf(g, "streams-validate", error)) ||
      !add(RD_KAFKA_CONSUMER, "source", g.source_topic(), join_brokers(source.bootstrap_servers),
           conf)) {
    return false;
  }
  const int source_partitions = out->back().partitions;
  const ChangelogTopics changelogs = changelog_topics(g);
  if (source_partitions < 0) {
    out->back().fatal = true;
    out->back().says = changelogs.topics.empty()
                           ? "missing: the host joins no group until it exists; create it"
                           : "missing: the host refuses to start (its changelogs take the "
                             "source's partition count); create it";
  }
  for (size_t i = 0; i < g.sinks.size(); ++i) {
    const pipeline::SinkBinding& sink = g.sinks[i];
    if (std::string(sink.type->name()) != "kafka") continue;
    if (!(conf = producer_conf(g, i, "streams-validate", error)) ||
        !add(RD_KAFKA_PRODUCER, "sink " + sink.name, sink.settings->target(),
             join_brokers(g.sink_deployment(i).bootstrap_servers), conf)) {
      return false;
    }
    TopicUse& use = out->back();
    if (use.partitions < 0 && sink.name == g.pipeline.crossing_sink) {
      use.role = "into the next segment";
      use.says =
          "missing: the host creates it" +
          (source_partitions > 0 ? " with " + std::to_string(source_partitions) + " partition(s)"
                                 : std::string());
    } else {
      judge_written(&use, "its first output");
    }
  }
  const config::DlqDeployment& dlq = source.dlq;
  if (!dlq.topic.empty()) {
    const bool on_source = config::dlq_on_source_brokers(source);
    if (!(conf = dlq_producer_conf(g, "streams-validate", error)) ||
        !add(RD_KAFKA_PRODUCER, "dead-letter queue", dlq.topic,
             join_brokers(on_source ? source.bootstrap_servers : dlq.bootstrap_servers), conf)) {
      return false;
    }
    judge_written(&out->back(), "its first dead letter");
  }
  for (size_t i = 0; i < changelogs.topics.size(); ++i) {
    if (!(conf = consumer_conf(g, "streams-validate", error)) ||
        !add(RD_KAFKA_CONSUMER, "changelog of " + changelogs.steps[i], changelogs.topics[i],
             join_brokers(source.bootstrap_servers), conf)) {
      return false;
    }
    TopicUse& use = out->back();
    if (use.partitions < 0) {
      use.says =
          "missing: the host creates it (compacted" +
          (source_partitions > 0 ? ", " + std::to_string(source_partitions) + " partition(s))"
                                 : std::string(")"));
    } else if (source_partitions > 0 && use.partitions != source_partitions) {
      use.fatal = true;
      use.says = "the host refuses to start: it needs " + std::to_string(source_partitions) +
                 " partition(s), one per partition of the source topic";
    }
  }
  return true;
}

}  // namespace streams::kafka
