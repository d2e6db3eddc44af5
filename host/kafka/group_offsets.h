// A consumer group's positions on a topic, for the tools (`streams-host
// offsets`, the dlq tools; control plane): the committed offsets, the
// watermarks, offsets found by record time, and new offsets committed.
//
// The client is a consumer that never joins its group: the broker refuses a
// commit from it while the group has members (Kafka's rule, and the dev
// broker's), so offsets cannot move under a running host.
//
// Thread: the caller's; every call blocks for at most about its timeout.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace streams::kafka {

constexpr int64_t kNoOffset = RD_KAFKA_OFFSET_INVALID;

struct PartitionPosition {
  int32_t partition = 0;
  int64_t committed = kNoOffset;  // the group's, or kNoOffset: none
  int64_t low = 0;                // the first offset on the broker
  int64_t high = 0;               // the offset the next record gets
};

// The partitions of `topic` in ascending order with their watermarks and,
// when `with_committed`, the committed offsets of the client's group. False
// with *error when the topic, the offsets or the watermarks cannot be read.
bool read_positions(rd_kafka_t* consumer, const std::string& topic, bool with_committed,
                    int timeout_ms, std::vector<PartitionPosition>* out, std::string* error);

// For each of `partitions`: the first offset whose record's timestamp is at
// or after `time_ms`, or its high watermark when no record's is. Asks the
// broker (ListOffsets by time); a partition it answers "none" for although
// its last record is at or after `time_ms` (a broker without a time index,
// such as the dev broker) is read from its start instead, and *read_through
// counts it. The client must have enable.partition.eof set.
bool offsets_for_time(rd_kafka_t* consumer, const std::string& topic,
                      const std::vector<PartitionPosition>& partitions, int64_t time_ms,
                      int timeout_ms, std::map<int32_t, int64_t>* out, int* read_through,
                      std::string* error);

// Commits `offsets` (partition -> offset) of `topic` for the client's group,
// synchronously. An error code with *error; a group with members refuses it
// (UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION).
rd_kafka_resp_err_t commit_offsets(rd_kafka_t* consumer, const std::string& topic,
                                   const std::map<int32_t, int64_t>& offsets, std::string* error);

// Commits `offsets` of `topic` as a member of the client's group, for when
// the broker refuses them from outside (a group with members; the dev broker
// refuses it for every group it has seen): subscribes to `topic` and, when
// the group assigns it all `partition_count` partitions (it is alone),
// commits and leaves. When another member holds a partition, or the tool
// joined but was never assigned (another member led the group and the
// rebalance did not complete with the tool, within `timeout_ms`), leaves
// (the members rebalance) and returns false with *others set. The client
// is a consumer of its own with `settings` (bootstrap.servers, group.id...).
bool commit_as_member(const std::vector<std::pair<std::string, std::string>>& settings,
                      const std::string& topic, const std::map<int32_t, int64_t>& offsets,
                      size_t partition_count, int timeout_ms, bool* others, std::string* error);

// Where `streams-host offsets reset` moves a partition.
struct ResetTo {
  enum Kind { earliest, latest, offset, shift, time } kind = earliest;
  int64_t value = 0;  // offset: the offset; shift: by how many (< 0: back)
};

// The new committed offset of `p` for `to`, within [low, high]. `found`:
// for Kind::time, what offsets_for_time() found for it. `none_at_earliest`:
// where the group starts on a partition without a committed offset (the
// source's auto_offset_reset), from which a shift counts.
int64_t reset_target(const PartitionPosition& p, const ResetTo& to, int64_t found,
                     bool none_at_earliest);

}  // namespace streams::kafka
