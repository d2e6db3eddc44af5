// The state of one batch step in one Chain (data plane): the records taken
// since the last flush, encoded as the batch record's value.
//
// A batch record's value is a JSON array of the records' values (format
// json: each value must be JSON text) or a msgpack array of binary values
// (format msgpack: any bytes). It has no key and no headers; its timestamp
// is its last record's.
//
// Thread: the partition's processing thread.
#pragma once

#include <cstdint>
#include <string>

#include <streams/plugin_abi.h>

#include "config/pipeline_config.h"
#include "pipeline/held_input.h"
#include "pipeline/json_check.h"

namespace streams::pipeline {

class Batcher {
 public:
  Batcher(config::Codec format, int64_t max_count, int64_t max_wait_ms)
      : format_(format), max_count_(max_count), max_wait_ms_(max_wait_ms) {}

  bool empty() const { return count_ == 0; }
  // Adds a record's value. Returns false with *error if the value cannot be
  // part of a batch of this format (nothing is added).
  bool add(streams_bytes value, int64_t timestamp_ms, std::string* error);
  // The batch has max_count records.
  bool full() const { return max_count_ > 0 && count_ >= max_count_; }
  // The batch is open and its first record has waited max_wait_ms by `now_ms`.
  bool due(int64_t now_ms) const {
    return count_ > 0 && max_wait_ms_ > 0 && now_ms - opened_ms_ >= max_wait_ms_;
  }
  // Marks when the batch opened (by the caller's clock) and what it holds.
  void open(int64_t now_ms, const HeldInput& first) {
    opened_ms_ = now_ms;
    first_ = first;
  }
  const HeldInput& first() const { return first_; }
  int64_t count() const { return count_; }
  int64_t opened_ms() const { return opened_ms_; }

  // The batch record. Valid until reset(); call only when !empty().
  streams_record record();
  void reset();

 private:
  config::Codec format_;
  int64_t max_count_, max_wait_ms_;
  int64_t count_ = 0;
  int64_t opened_ms_ = 0;
  int64_t last_timestamp_ = -1;
  HeldInput first_;
  std::string buffer_;  // json: "[v1,v2"; msgpack: 5 header bytes then items
  JsonCheck json_;
};

}  // namespace streams::pipeline
