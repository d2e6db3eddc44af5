// Reading a dead-letter topic, for the `dlq` tools (control plane): from a
// group's committed offsets (or the start) to its end as of open(), the
// records' headers decoded. No group membership is taken; progress is
// committed only when the caller says so.
//
// Thread: the caller's; blocking.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka/handles.h"

namespace streams::kafka {

using HeaderList = std::vector<std::pair<std::string, std::string>>;
using Settings = std::vector<std::pair<std::string, std::string>>;

// The value of header `name`, or null.
const std::string* find_header(const HeaderList& headers, std::string_view name);
// A filter's test: `list` is empty (no filter) or holds `value`.
bool listed(const std::vector<std::string>& list, const std::string* value);

// A client with `settings` (and a delivery callback with its opaque, for a
// producer); null with *error when librdkafka refuses one. librdkafka's
// warnings are logged as warnings, or with `host_logs` as the host's
// clients log them (kafka_conf.h route_logs).
Client make_tool_client(rd_kafka_type_t type, const Settings& settings,
                        void (*on_delivery)(rd_kafka_t*, const rd_kafka_message_t*, void*),
                        void* opaque, std::string* error, bool host_logs = false);

struct DlqSource {
  std::string brokers;  // bootstrap servers, comma-separated
  std::string topic;
  std::string group;  // empty: read from the start, keep no progress
  int timeout_ms = 30000;
  Settings settings;  // librdkafka settings after the reader's own
  std::string client_id = "streams-dlq";
};

class DlqReader {
 public:
  // Null with *error when librdkafka refuses the client's settings.
  static std::unique_ptr<DlqReader> open(const DlqSource& source, std::string* error);
  ~DlqReader();

  // Finds where to read from and to: false with *error when the topic's
  // partitions, the group's offsets or the watermarks cannot be read.
  bool start(std::string* error);
  bool empty() const { return start_->cnt == 0; }
  // After start(): calls `on` for each record from the start to the end, and `turn` once a
  // poll. False with *error when `on` fails, `stop` is set, or no record
  // comes for timeout_ms.
  using OnRecord =
      std::function<bool(const rd_kafka_message_t&, const HeaderList&, std::string* error)>;
  bool read(const std::atomic<bool>& stop, const OnRecord& on, const std::function<void()>& turn,
            std::string* error);
  // Commits the ends for the group (a group must be set).
  bool commit(std::string* error);

 private:
  explicit DlqReader(DlqSource source) : source_(std::move(source)) {}

  DlqSource source_;
  Client consumer_;
  PartitionList start_ = partition_list(0);
  std::map<int32_t, int64_t> ends_;  // the high watermarks at open()
};

}  // namespace streams::kafka
