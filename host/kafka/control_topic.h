// The control topic (control plane): a segment-wide pause, which every host
// of a consumer group follows, kept on the group's own brokers so that a
// host started later (a new pod, a restarted one without its state
// directory) finds it before it reads a record.
//
// Topic `streams-control` (or the source's `control_topic` setting), one
// partition (the first record creates it where brokers create topics on
// use; else create it, compacted). Records, keyed
// by what they are about, values JSON:
//   "pause/GROUP"           {"paused": bool, "by": WHO, "at_ms": MS}
//   "drained/GROUP/MEMBER"  {"pause_offset": OFFSET, "partitions": [P, ...]}
// A host that followed the pause at OFFSET says which partitions it holds
// drained (every input begun completed and committed); `pause` waits until
// those cover the topic's partitions.
//
// Thread: a ControlReader is used by one thread at a time; it blocks for at
// most its timeouts.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config/deployment_config.h"
#include "kafka/handles.h"

namespace streams::kafka {

inline constexpr const char* kControlTopic = "streams-control";

// The control topic of a segment whose source is deployed as `source`.
inline std::string control_topic_of(const config::StepDeployment& source) {
  return source.control_topic.empty() ? kControlTopic : source.control_topic;
}

struct PauseRecord {
  bool paused = false;
  std::string by;  // who asked, for the logs
  int64_t at_ms = 0;
  int64_t offset = -1;  // in the control topic, once read
};

struct DrainedRecord {
  int64_t pause_offset = -1;
  std::vector<int32_t> partitions;
};

std::string pause_key(const std::string& group);
std::string drained_key(const std::string& group, const std::string& member);
std::string encode(const PauseRecord& r);
std::string encode(const DrainedRecord& r);

// One control record, decoded: what it is about and for which group.
struct ControlRecord {
  enum Kind { unknown, pause_record, drained_record } kind = unknown;
  std::string group;
  std::string member;  // drained
  PauseRecord pause;
  DrainedRecord drained;
};
// `key` and `value` as read at `offset`; kind `unknown` for a record this
// version does not know (or cannot read), which readers skip.
ControlRecord decode(const std::string& key, const std::string& value, int64_t offset);

// The partitions of `all` that no report covers.
std::vector<int32_t> not_covered(const std::vector<int32_t>& all,
                                 const std::vector<DrainedRecord>& reports);

// Reads and writes the control topic with its own consumer (no group) and
// producer. `settings`: bootstrap.servers and the connection settings.
class ControlReader {
 public:
  using Settings = std::vector<std::pair<std::string, std::string>>;
  // Null with *error when librdkafka refuses the settings. `host_logs`: a
  // host's (its source warns of brokers down), else a tool's.
  static std::unique_ptr<ControlReader> open(const Settings& settings, std::string topic,
                                             const std::string& client_id, bool host_logs,
                                             std::string* error);
  const std::string& topic() const { return topic_; }

  // The first offset kept and the one the next record will get (both 0:
  // the topic does not exist yet); false with *error when the brokers do
  // not answer.
  bool offsets(int timeout_ms, int64_t* first, int64_t* end, std::string* error);
  // Reads from `from` (assigning the partition there) to before `to`, or
  // with `to` < 0 whatever arrives within `timeout_ms`, each record to `on`.
  // False with *error when the records stop coming before `to`.
  bool read(int64_t from, int64_t to, int timeout_ms,
            const std::function<void(const ControlRecord&)>& on, std::string* error);
  // The offset after the last record read.
  int64_t next() const { return next_; }
  // Writes a record and waits for the brokers to take it: its offset, or
  // -1 with *error.
  int64_t write(const std::string& key, const std::string& value, int timeout_ms,
                std::string* error);
  // The producer's delivery report of record `seq` (librdkafka's callback).
  void delivered(uintptr_t seq, rd_kafka_resp_err_t err, int64_t offset);

 private:
  struct Delivery {
    bool done = false;
    int64_t offset = -1;
    std::string error;
  };
  ControlReader() = default;
  std::string topic_;
  uintptr_t seq_ = 0;  // of the record write() waits for
  Delivery delivery_;
  Client consumer_;
  Settings producer_settings_;
  bool host_logs_ = false;
  Client producer_;           // made at the first write
  int64_t assigned_at_ = -2;  // where the partition was assigned (-2: not yet)
  int64_t next_ = 0;          // the next offset the consumer returns
};

}  // namespace streams::kafka
