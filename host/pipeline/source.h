// The source contract (data plane): a consumer-group member reading one
// topic's partitions, as the runtime sees it. Nothing here names a broker,
// so the runtime's loop is tested with a fake source.
//
// Thread: every call on the processing thread, except wake(); handler calls
// come from inside poll() (and commit()/close()) on that thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <streams/plugin_abi.h>

namespace streams::pipeline {

// One input. `record` and what it points to are valid during on_record().
struct SourceRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  streams_record record{};
  // Non-null: the record's header block cannot be parsed (why); the record
  // is a record error, never handed on without its headers.
  const char* header_error = nullptr;
};

// The commit error of a group that is rebalancing: Kafka refuses commits
// until its members have joined again, at every scale-up or restart of a
// member, and the runtime retries them. A source reports it with this text
// (a commit's result, or the error of a whole commit), so that the runtime
// tells it from the errors worth a warning.
inline constexpr const char* kCommitRefusedRebalancing =
    "the group is rebalancing (Broker: Group rebalance in progress)";

// A partition's offset: to commit, or a commit's result.
struct PartitionOffset {
  int32_t partition = 0;
  int64_t offset = 0;
  const char* error = nullptr;  // a result: null when committed
};

// What the source reports to the runtime.
class SourceHandler {
 public:
  virtual ~SourceHandler() = default;
  // The group gave this member `partitions` of the topic; their records
  // follow.
  virtual void on_assigned(const int32_t* partitions, size_t count) = 0;
  // `partitions` are taken away. Before returning, the handler may commit
  // them unless `lost` (the group gave them to another member already:
  // nothing may be committed for them). Records of them fetched earlier may
  // still arrive afterwards; the handler ignores them.
  virtual void on_revoked(const int32_t* partitions, size_t count, bool lost) = 0;
  virtual void on_record(const SourceRecord& record) = 0;
  // Optional hints, for a source that hands over records from a batch it
  // holds: hint_soon(r) two records before on_record(r) (the first two of a
  // batch: before the first), then hint_next(r's partition, what hint_soon
  // returned) one record before (none for the first of a batch), so
  // the handler may ask for memory it will read for r (a state table's
  // lookup of r's key) while it works on the records before. Asked once a
  // batch whether it wants them. A hint changes nothing the handler does.
  virtual bool wants_hints() const { return false; }
  virtual uint64_t hint_soon(int32_t partition, std::string_view key) {
    (void)partition, (void)key;
    return 0;
  }
  virtual void hint_next(int32_t partition, uint64_t hint) { (void)partition, (void)hint; }
  // The result of an asynchronous commit, per partition (none when there
  // was nothing to commit).
  virtual void on_commit_result(const PartitionOffset* results, size_t count) = 0;
  // The source cannot go on (a fatal client error, no offset to start from).
  virtual void on_source_failed(const std::string& reason) = 0;
  // The brokers say the topic is not there for this member: it does not
  // exist, or reading it is not allowed. The source goes on, and joins the
  // group once the topic is there (on_assigned).
  enum class Unavailable { missing = 1, not_authorized = 2 };
  virtual void on_topic_unavailable(Unavailable why) { (void)why; }
};

class Source {
 public:
  virtual ~Source() = default;
  // Joins the group for the topic; events go to `handler`, which must
  // outlive the source. False with *error on failure.
  virtual bool subscribe(SourceHandler& handler, std::string* error) = 0;
  // Serves events: waits up to `timeout_ms` for the first record, then
  // hands on what is already fetched.
  virtual void poll(int timeout_ms) = 0;
  // Stops fetching `partition` (records already fetched may still come).
  // Not from inside on_assigned: a pause right after librdkafka's assign
  // can leave the partition never fetching (librdkafka issue #2190); pause
  // at its first record instead.
  virtual void pause(int32_t partition) = 0;
  // Fetches `partition` again from `offset` (-1: from where its
  // assignment started, nothing having been read).
  virtual void resume(int32_t partition, int64_t offset) = 0;
  // Commits `count` offsets (the next offset to read, per partition):
  // synchronous (true only when every partition's commit succeeded) or not
  // (on_commit_result later). False with *error when the request could not
  // be made.
  virtual bool commit(const PartitionOffset* offsets, size_t count, bool sync,
                      std::string* error) = 0;
  // The group's committed offset of `partition` into *offset (-1: none),
  // asking the broker (a round trip, up to `timeout_ms`). False with *error
  // when it is not known.
  virtual bool committed(int32_t partition, int64_t* offset, int timeout_ms, std::string* error) {
    (void)partition, (void)offset, (void)timeout_ms;
    *error = "this source does not say";
    return false;
  }
  // Leaves the group (on_revoked for what is assigned), waiting up to
  // `timeout_ms`; false if it could not leave in time.
  virtual bool close(int64_t timeout_ms) = 0;
  // Thread-safe: makes a poll() under way return soon.
  virtual void wake() = 0;
  virtual const std::string& topic() const = 0;
};

}  // namespace streams::pipeline
