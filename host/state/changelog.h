// The changelog of stateful steps: a compacted topic per step, one partition
// per source partition, holding every checkpointed change, so that a store
// that is lost (a deleted directory, a new machine) or was left behind (its
// partition moved to another host and back) is restored from it.
//
// A changelog record: the state key as its key and, as its value, the offset
// of the source input that made the change (its stamp, 8 bytes big endian)
// followed by the stored value (table.h: write time + value). An erase is a
// null value (so that compaction removes the key) with its stamp in the
// header kStampHeader; a reader takes a stamp from that header whenever a
// record has one. Restore applies the records stamped before the
// source's committed offset and skips later ones (inputs that will be read
// again), see partition_state.h.
//
// These interfaces name no broker: the Kafka runtime gives Kafka ones
// (kafka/changelog.h), unit tests fakes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "state/table.h"

namespace streams::state {

inline constexpr const char* kStampHeader = "streams.stamp";

// The size of a changelog record of a value of `value_bytes` at most (a
// step's state.max_value_bytes): the largest key (table.h's kMaxKeyBytes),
// the stamp and the write time (8 bytes each), and room for the record's
// framing. Changelog producers and the topics the host creates take records
// this large, so that every value a step may put can be checkpointed.
constexpr uint64_t changelog_record_bytes(uint64_t value_bytes) {
  return value_bytes + kMaxKeyBytes + 16 + 1024;
}

// The acknowledgements of one prepared batch of changes: how many of its
// records are outstanding, and, per step, the changelog offset after its
// last record. Reference counted (one reference per record in flight, one
// for its owner) because a partition may be revoked before its records are
// acknowledged. Thread: the thread that sends and serves acknowledgements.
class ChangelogAck {
 public:
  ChangelogAck() = default;
  // A record was sent: the writer acknowledges it once.
  void sent() { ++outstanding_, ++refs_; }
  // The record of step index `step` was written at `offset` (-1 with
  // `error` when refused for good).
  void acknowledged(size_t step, int64_t offset, const char* error) {
    --outstanding_;
    if (error) {
      if (error_.empty()) error_ = error;
    } else {
      if (step >= ends_.size()) ends_.resize(step + 1, -1);
      ends_[step] = std::max(ends_[step], offset + 1);
    }
    release();
  }
  void release() {
    if (--refs_ == 0) delete this;
  }
  bool done() const { return outstanding_ == 0; }
  const std::string& error() const { return error_; }
  // Per step index: the changelog offset after its last record (-1: none).
  const std::vector<int64_t>& ends() const { return ends_; }

 private:
  ~ChangelogAck() = default;
  std::vector<int64_t> ends_;
  size_t outstanding_ = 0;
  size_t refs_ = 1;  // the owner's
  std::string error_;
};

// Sends changes to the changelog. Thread: one thread (the one serving the
// acknowledgements).
class ChangelogWriter {
 public:
  virtual ~ChangelogWriter() = default;
  // Queues one change of step `step` (its index in `steps`, the order the
  // writer was made with) for the changelog partition `partition`: `stored`
  // null for an erase, `stamp` the input's offset. Copies what it needs: the
  // views need not outlive the call. Calls ack->sent() now and
  // ack->acknowledged() once the change is written or refused for good.
  // Changes of one partition are written in the order they were queued.
  // False with *error when it cannot be queued.
  virtual bool send(size_t step, int32_t partition, std::string_view key, const std::string* stored,
                    int64_t stamp, ChangelogAck* ack, std::string* error) = 0;
  // Hands queued changes to the client, as many as it keeps in flight, and
  // serves the acknowledgements that arrived.
  virtual void poll() = 0;
  // Changes queued that poll() has not handed to the client yet: while
  // there are some, the caller polls again within milliseconds.
  virtual size_t queued() const = 0;
  // Writes the queued changes and serves acknowledgements for up to
  // `timeout_ms` or until none is outstanding; false when some still are.
  virtual bool flush(int timeout_ms) = 0;
  // The step index of step `name` (-1: not a stateful step it writes for).
  virtual int index_of(const std::string& name) const = 0;
};

// One record read back.
struct ChangelogRecord {
  int64_t offset = 0;
  std::string_view key;
  bool present = false;  // false: an erase (a null value)
  std::string_view stored;
  int64_t stamp = -1;  // -1: no stamp header (not written by the host)
};

// Reads one changelog partition. Thread: any one thread at a time.
class ChangelogReader {
 public:
  virtual ~ChangelogReader() = default;
  // The first and one past the last offset of step `step`'s changelog
  // partition `partition`. False with *error.
  virtual bool bounds(size_t step, int32_t partition, int64_t* low, int64_t* high,
                      std::string* error) = 0;
  // Reads the bounds of every step's changelog partitions `partitions` at
  // once (a request per bound and broker, where bounds() asks per
  // partition) and keeps them, in place of what an earlier call kept:
  // bounds() then answers each (step, partition) once from them. The caller
  // names only partitions whose changelog nothing writes until their kept
  // bounds are used (assigned partitions waiting for their restore). False
  // with *error: bounds() asks the broker.
  virtual bool prefetch_bounds(const std::vector<int32_t>& partitions, std::string* error) {
    (void)partitions, (void)error;
    return true;
  }
  // Calls visit(ctx, records, count) with the records of step `step`'s
  // changelog partition `partition` from offset `from` up to (not
  // including) `to`, in offset order and batches, until visit returns false
  // (then stops early and returns true). Records and their views are valid
  // during the visit. False with *error.
  using Visit = bool (*)(void* ctx, const ChangelogRecord* records, size_t count);
  virtual bool read(size_t step, int32_t partition, int64_t from, int64_t to, Visit visit,
                    void* ctx, std::string* error) = 0;
};

}  // namespace streams::state
