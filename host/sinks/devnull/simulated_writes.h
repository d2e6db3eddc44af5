// A devnull sink's simulated store (the original's DevNullSink keys): the
// outputs it takes gather into batches closed at `batch_size` outputs or
// `batch_time_ms` after a batch's first (200 ms unless set); each closed batch is written, one
// after another, in a time drawn around `average_sleep_ms` (0.5x to 1.5x, at
// most `max_sleep_ms`), and its outputs are acknowledged when the write
// ends. Unlike the original, nothing sleeps on the processing thread: the
// runtime keeps reading until the pending outputs reach their bound.
//
// Pure logic: the caller gives the times (steady ms). Thread: one, the
// sink's.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <random>

namespace streams::sinks {

struct DevNullWrites {
  // A batch's age when closed unless set, as a plugin sink's: a tail that
  // fills no batch is still written (and its inputs committed).
  static constexpr int64_t kDefaultBatchTimeMs = 200;
  int64_t batch_size = 0;       // outputs; 0: no bound
  int64_t batch_time_ms = 0;    // a batch's age when closed; 0: kDefaultBatchTimeMs
  double average_sleep_ms = 0;  // 0: nothing simulated, outputs stored once taken
  double max_sleep_ms = -1;     // < 0: twice the average
  bool simulated() const { return average_sleep_ms > 0; }
  int64_t batch_time() const { return batch_time_ms > 0 ? batch_time_ms : kDefaultBatchTimeMs; }
  bool operator==(const DevNullWrites& o) const {
    return batch_size == o.batch_size && batch_time_ms == o.batch_time_ms &&
           average_sleep_ms == o.average_sleep_ms && max_sleep_ms == o.max_sleep_ms;
  }
};

class SimulatedWrites {
 public:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  // `seed` picks the sleep times (tests give one; the sink a random one).
  SimulatedWrites(const DevNullWrites& writes, uint64_t seed);

  // Takes output `token` of `bytes` (key and value) at `now_ms`; closes
  // its batch when full.
  void take(uint64_t token, uint64_t bytes, int64_t now_ms);
  // Closes the open batch, if any: its write starts when the one before
  // ends.
  void close(int64_t now_ms);
  // Closes the open batch if its time came, then calls done(token) for each
  // output whose batch's write ended by `now_ms`, oldest first.
  template <class Done>
  void advance(int64_t now_ms, Done&& done) {
    if (open_ > 0 && now_ms - opened_ms_ >= writes_.batch_time()) {
      close(opened_ms_ + writes_.batch_time());
    }
    while (!closed_.empty() && closed_.front().done_ms <= now_ms) {
      for (size_t i = 0; i < closed_.front().count; ++i) {
        done(tokens_.front().token);
        bytes_ -= tokens_.front().bytes;
        tokens_.pop_front();
      }
      closed_.pop_front();
    }
  }
  // When advance() next has something to do; kNever when nothing is
  // pending.
  int64_t next_event_ms() const;
  // Outputs taken and not yet written.
  uint64_t pending() const { return tokens_.size(); }
  uint64_t pending_bytes() const { return bytes_; }
  // When the oldest pending output's batch opened (undefined when none).
  int64_t oldest_ms() const { return closed_.empty() ? opened_ms_ : closed_.front().opened_ms; }
  // The time of the most recent write drawn (tests).
  double last_sleep_ms() const { return last_sleep_ms_; }

 private:
  struct Output {
    uint64_t token;
    uint64_t bytes;
  };
  struct Batch {
    size_t count;
    int64_t opened_ms;
    int64_t done_ms;
  };
  double draw();

  DevNullWrites writes_;
  std::mt19937_64 rng_;
  std::deque<Output> tokens_;  // pending, oldest first: closed_'s, then the open batch's
  uint64_t bytes_ = 0;
  std::deque<Batch> closed_;
  size_t open_ = 0;  // outputs in the open batch
  int64_t opened_ms_ = 0;
  int64_t last_done_ms_ = std::numeric_limits<int64_t>::min();
  double last_sleep_ms_ = 0;
};

}  // namespace streams::sinks
