// The restore worker (runtime/restore_worker.h) over a fake changelog: the
// bounds of partitions queued together are fetched in one go, and never
// reused for a partition queued again after they were fetched.
#define BOOST_TEST_MODULE restore_worker
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include "runtime/restore_worker.h"
#include "state/changelog.h"
#include "state/partition_state.h"
#include "state/store.h"

using streams::kafka::RestoreWorker;
using streams::state::ChangelogAck;
using streams::state::PartitionState;

namespace {

// One step's changelog, a record per partition; prefetch_bounds() keeps what
// it was asked for, and read() of partition `gate` waits until opened, so
// that a test can queue partitions behind it.
class FakeChangelog final : public streams::state::ChangelogReader,
                            public streams::state::ChangelogWriter {
 public:
  static constexpr int32_t gate = 99;

  bool bounds(size_t, int32_t partition, int64_t* low, int64_t* high, std::string*) override {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto k = kept_.find(partition);
    if (k == kept_.end()) {
      asked_.push_back(partition);
    } else {
      kept_.erase(k);
    }
    *low = 0, *high = 1;
    return true;
  }
  bool prefetch_bounds(const std::vector<int32_t>& partitions, std::string*) override {
    std::lock_guard<std::mutex> lock(mutex_);
    prefetches_.push_back(partitions);
    kept_.clear();
    for (int32_t p : partitions) kept_[p] = true;
    return true;
  }
  bool read(size_t, int32_t partition, int64_t, int64_t, Visit visit, void* ctx,
            std::string*) override {
    if (partition == gate) {
      std::unique_lock<std::mutex> lock(mutex_);
      gate_waiting_ = true;
      changed_.notify_all();
      changed_.wait(lock, [&] { return gate_open_; });
    }
    const streams::state::ChangelogRecord r{0, "k", true, std::string_view(stored_), 0};
    return visit(ctx, &r, 1);
  }
  bool send(size_t, int32_t, std::string_view, const std::string*, int64_t, ChangelogAck*,
            std::string* error) override {
    *error = "no rewrites expected";
    return false;
  }
  void poll() override {}
  size_t queued() const override { return 0; }
  bool flush(int) override { return true; }
  int index_of(const std::string& name) const override { return name == "count" ? 0 : -1; }

  void wait_at_gate() {
    std::unique_lock<std::mutex> lock(mutex_);
    BOOST_REQUIRE(changed_.wait_for(lock, std::chrono::seconds(30), [&] { return gate_waiting_; }));
  }
  void open_gate() {
    std::lock_guard<std::mutex> lock(mutex_);
    gate_open_ = true;
    changed_.notify_all();
  }
  std::vector<std::vector<int32_t>> prefetches() {
    std::lock_guard<std::mutex> lock(mutex_);
    return prefetches_;
  }
  std::vector<int32_t> asked() {
    std::lock_guard<std::mutex> lock(mutex_);
    return asked_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool gate_waiting_ = false, gate_open_ = false;
  std::map<int32_t, bool> kept_;
  std::vector<std::vector<int32_t>> prefetches_;
  std::vector<int32_t> asked_;
  // A stored value (table.h): its write time, then the value.
  const std::string stored_ = std::string(8, '\0') + "1";
};

struct Fixture {
  std::unique_ptr<streams::state::Backend> backend = streams::state::memory_backend();
  FakeChangelog changelog;
  std::map<int32_t, std::unique_ptr<PartitionState>> states;
  std::mutex mutex;
  std::condition_variable woken;
  std::vector<RestoreWorker::Done> done;
  RestoreWorker worker{changelog, changelog, [this] { woken.notify_all(); }};

  // A resolved state for `partition`, with the step's table, restored next.
  void start(int32_t partition) {
    states.erase(partition);
    std::string error;
    auto state = PartitionState::open(backend->open(partition, &error), &error);
    BOOST_REQUIRE_MESSAGE(state, error);
    state->set_changelog(&changelog, partition);
    BOOST_REQUIRE_MESSAGE(state->table("count", {}, &error), error);
    // Resumes after the changelog's record (stamped 0): it is applied.
    BOOST_REQUIRE_MESSAGE(state->resolve(1, &error), error);
    worker.start(partition, state.get());
    states[partition] = std::move(state);
  }
  // Waits (30 s at most) until `count` restores in all are done.
  void wait_done(size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (worker.take_done(&done); done.size() < count; worker.take_done(&done)) {
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                            "restores done: " << done.size() << " of " << count);
      std::unique_lock<std::mutex> lock(mutex);
      woken.wait_for(lock, std::chrono::milliseconds(10));
    }
    for (const auto& d : done) BOOST_REQUIRE_MESSAGE(d.ok, d.error);
  }
};

using Lists = std::vector<std::vector<int32_t>>;

}  // namespace

BOOST_FIXTURE_TEST_CASE(partitions_queued_together_share_one_prefetch, Fixture) {
  start(FakeChangelog::gate);
  changelog.wait_at_gate();
  start(0), start(1), start(2);
  changelog.open_gate();
  wait_done(4);
  BOOST_TEST(changelog.prefetches() == (Lists{{FakeChangelog::gate}, {0, 1, 2}}));
  BOOST_TEST(changelog.asked().empty());
}

BOOST_FIXTURE_TEST_CASE(a_partition_queued_again_gets_bounds_fetched_after, Fixture) {
  start(FakeChangelog::gate);
  changelog.wait_at_gate();
  start(0), start(1);
  worker.cancel(1);  // revoked before its restore, then assigned back
  start(1);
  changelog.open_gate();
  wait_done(3);
  // Both were queued before the second prefetch: its bounds are fresh.
  BOOST_TEST(changelog.prefetches() == (Lists{{FakeChangelog::gate}, {0, 1}}));
  start(2);
  wait_done(4);
  start(2);  // assigned again once restored: the bounds kept before are stale
  wait_done(5);
  BOOST_TEST(changelog.prefetches() == (Lists{{FakeChangelog::gate}, {0, 1}, {2}, {2}}));
  BOOST_TEST(changelog.asked().empty());
}

BOOST_FIXTURE_TEST_CASE(a_partition_queued_during_a_restore_is_fetched_when_its_turn_comes,
                        Fixture) {
  start(0);
  wait_done(1);
  start(FakeChangelog::gate);
  changelog.wait_at_gate();
  start(3);  // after the gate's prefetch
  changelog.open_gate();
  wait_done(3);
  BOOST_TEST(changelog.prefetches() == (Lists{{0}, {FakeChangelog::gate}, {3}}));
}
