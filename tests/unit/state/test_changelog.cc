// The changelog protocol of a partition's state (partition_state.h, steps
// 1'-3'): what prepare sends, when an offset is durable, what a checkpoint
// records, and restores of lost, stale and interrupted stores, over a fake
// changelog (an in-memory log per step, acknowledged on demand).
#define BOOST_TEST_MODULE changelog
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
#include <optional>

#include "state/changelog.h"
#include "state/partition_state.h"
#include "test_util.h"

using streams::state::ChangelogAck;
using streams::state::ChangelogRecord;
using streams::state::Found;
using streams::state::PartitionState;
using streams::state::Table;
using streams::testing::TempDir;

namespace {

struct Logged {
  int64_t offset;
  std::string key;
  std::optional<std::string> stored;
  int64_t stamp;
};

// One partition of each step's changelog, in memory. Records are in the log
// once sent; their acknowledgements wait for poll() or flush().
class FakeChangelog final : public streams::state::ChangelogWriter,
                            public streams::state::ChangelogReader {
 public:
  explicit FakeChangelog(std::vector<std::string> steps) : steps_(std::move(steps)) {
    logs_.resize(steps_.size());
  }
  bool send(size_t step, int32_t, std::string_view key, const std::string* stored, int64_t stamp,
            ChangelogAck* ack, std::string* error) override {
    if (refuse_) {
      *error = "refused";
      return false;
    }
    auto& log = logs_.at(step);
    const int64_t offset = log.empty() ? low_ : log.back().offset + 1;
    log.push_back({offset, std::string(key),
                   stored ? std::optional<std::string>(*stored) : std::nullopt, stamp});
    ack->sent();
    unacked_.push_back({ack, step, offset});
    return true;
  }
  void poll() override {
    for (auto& [ack, step, offset] : unacked_) ack->acknowledged(step, offset, nullptr);
    unacked_.clear();
  }
  size_t queued() const override { return 0; }
  bool flush(int) override {
    poll();
    return true;
  }
  int index_of(const std::string& name) const override {
    for (size_t i = 0; i < steps_.size(); ++i) {
      if (steps_[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
  bool bounds(size_t step, int32_t, int64_t* low, int64_t* high, std::string*) override {
    const auto& log = logs_.at(step);
    *low = log.empty() ? low_ : log.front().offset;
    *high = log.empty() ? low_ : log.back().offset + 1;
    return true;
  }
  bool read(size_t step, int32_t, int64_t from, int64_t to, Visit visit, void* ctx,
            std::string*) override {
    std::vector<ChangelogRecord> batch;
    for (const Logged& r : logs_.at(step)) {
      if (r.offset < from || r.offset >= to) continue;
      batch.push_back({r.offset, r.key, r.stored.has_value(),
                       r.stored ? std::string_view(*r.stored) : std::string_view(), r.stamp});
      if (batch.size() == batch_size_) {
        const bool more = visit(ctx, batch.data(), batch.size());
        if (cancel_after_batch_) *cancel_after_batch_ = true;
        if (!more) return true;
        batch.clear();
      }
    }
    visit(ctx, batch.data(), batch.size());
    return true;
  }
  // What Kafka's compaction leaves: each key's last record.
  void compact(size_t step) {
    std::map<std::string, int64_t> last;
    for (const Logged& r : logs_[step]) last[r.key] = r.offset;
    std::vector<Logged> kept;
    for (const Logged& r : logs_[step]) {
      if (last[r.key] == r.offset) kept.push_back(r);
    }
    logs_[step] = kept;
  }
  std::vector<Logged>& log(size_t step = 0) { return logs_[step]; }
  size_t batch_size_ = 1000;
  std::atomic<bool>* cancel_after_batch_ = nullptr;  // set once a batch was visited
  bool refuse_ = false;
  int64_t low_ = 0;

 private:
  struct Unacked {
    ChangelogAck* ack;
    size_t step;
    int64_t offset;
  };
  std::vector<std::string> steps_;
  std::vector<std::vector<Logged>> logs_;
  std::vector<Unacked> unacked_;
};

struct Fixture {
  TempDir dir;
  std::unique_ptr<streams::state::Backend> backend;
  FakeChangelog changelog{{"count"}};
  explicit Fixture(const std::string& kind)
      : backend(kind == "memory" ? streams::state::memory_backend()
                                 : streams::state::rocksdb_backend(dir.path() + "/stores")) {}
  std::unique_ptr<PartitionState> open() {
    std::string error;
    auto store = backend->open(0, &error);
    BOOST_REQUIRE_MESSAGE(store, error);
    auto state = PartitionState::open(std::move(store), &error);
    BOOST_REQUIRE_MESSAGE(state, error);
    state->set_changelog(&changelog, 0);
    return state;
  }
};

Table& table(PartitionState& p) {
  std::string error;
  Table* t = p.table("count", {}, &error);
  BOOST_REQUIRE_MESSAGE(t, error);
  return *t;
}

std::string get(Table& t, const std::string& key) {
  std::string_view value;
  std::string error;
  const Found f = t.get(key, &value, &error);
  BOOST_REQUIRE_MESSAGE(f != Found::error, error);
  return f == Found::yes ? std::string(value) : "(none)";
}

void prepare(PartitionState& p, int64_t offset) {
  std::string error;
  BOOST_REQUIRE_MESSAGE(p.prepare(offset, &error), error);
}

void checkpoint(PartitionState& p, int64_t offset) {
  std::string error;
  BOOST_REQUIRE_MESSAGE(p.checkpoint(offset, &error), error);
}

void resolve(PartitionState& p, int64_t offset) {
  std::string error;
  BOOST_REQUIRE_MESSAGE(p.resolve(offset, &error), error);
}

// Returns how it ended, with the records it read in *records.
PartitionState::Restored restore(PartitionState& p, FakeChangelog& c, uint64_t* records = nullptr,
                                 const std::atomic<bool>* cancel = nullptr) {
  const std::atomic<bool> no{false};
  PartitionState::RestoreProgress progress;
  std::string error;
  const auto r = p.restore(c, c, cancel ? *cancel : no, &progress, &error);
  BOOST_REQUIRE_MESSAGE(r != PartitionState::Restored::failed, error);
  if (records) *records = progress.records;
  return r;
}

// Inputs 0..n-1, each adding one to key k<i % keys> (as the counter does):
// stamped with its offset.
void count(Table& t, int64_t from, int64_t to, int keys = 3) {
  for (int64_t i = from; i < to; ++i) {
    const std::string key = "k" + std::to_string(i % keys);
    const std::string now = get(t, key);
    const int n = now == "(none)" ? 1 : std::stoi(now) + 1;
    t.put(key, std::to_string(n), i, 0);
  }
}

// A new state opened and resolved at `offset` on the store of `f`, its
// table opened.
std::unique_ptr<PartitionState> opened(Fixture& f, int64_t offset) {
  auto p = f.open();
  table(*p);
  resolve(*p, offset);
  return p;
}

// Inputs [from, to) counted, their changes prepared, acknowledged and
// committed (at `now_ms` of a steady clock; -1: flushed now).
void commit_inputs(PartitionState& p, FakeChangelog& c, int64_t from, int64_t to, int keys = 3,
                   int64_t now_ms = -1) {
  count(table(p), from, to, keys);
  prepare(p, to);
  c.poll();
  std::string error;
  BOOST_REQUIRE_MESSAGE(p.checkpoint(to, now_ms, &error), error);
}

const char* kKinds[] = {"memory", "rocksdb"};

}  // namespace

BOOST_DATA_TEST_CASE(an_offset_is_durable_once_its_changes_are_acknowledged,
                     boost::unit_test::data::make(kKinds), kind) {
  Fixture f(kind);
  auto p = f.open();
  Table& t = table(*p);
  resolve(*p, 0);
  count(t, 0, 6);  // k0=2, k1=2, k2=2
  prepare(*p, 4);
  std::string error;
  BOOST_TEST(p->durable(100, &error) == 0);  // sent, not acknowledged
  // The last change of each key before 4: k0 by input 3, k1 by 1, k2 by 2.
  BOOST_REQUIRE(f.changelog.log().size() == 3u);
  BOOST_TEST(f.changelog.log()[0].key == "k1");
  BOOST_TEST(f.changelog.log()[0].stamp == 1);
  BOOST_TEST(*f.changelog.log()[0].stored == std::string(8, '\0') + "1");  // write time, value
  BOOST_TEST(f.changelog.log()[2].key == "k0");
  BOOST_TEST(f.changelog.log()[2].stamp == 3);
  f.changelog.poll();
  BOOST_TEST(p->durable(100, &error) == 4);
  checkpoint(*p, 4);
  prepare(*p, 6);
  BOOST_TEST(p->durable(100, &error) == 4);
  f.changelog.poll();
  BOOST_TEST(p->durable(100, &error) == 6);
}

// Inputs between two prepares make one changelog record a key, and a
// commit lands only on a prepared offset.
BOOST_DATA_TEST_CASE(a_prepare_sends_one_record_a_key_changed_since_the_last,
                     boost::unit_test::data::make(kKinds), kind) {
  Fixture f(kind);
  auto p = f.open();
  Table& t = table(*p);
  resolve(*p, 0);
  for (int64_t i = 0; i < 30; ++i) {
    p->observe(0, i);
    count(t, i, i + 1);
  }
  BOOST_TEST(p->pending() == 3u);
  prepare(*p, 30);
  BOOST_REQUIRE(f.changelog.log().size() == 3u);
  BOOST_TEST(f.changelog.log()[0].key == "k0");
  BOOST_TEST(f.changelog.log()[0].stamp == 27);
  BOOST_TEST(f.changelog.log()[0].stored->substr(8) == "10");
  std::string error;
  f.changelog.poll();
  BOOST_TEST(p->durable(29, &error) == 0);  // 30 is not committable yet: the last checkpoint
  BOOST_TEST(p->durable(31, &error) == 30);
}

BOOST_DATA_TEST_CASE(a_refused_change_stops_commits, boost::unit_test::data::make(kKinds), kind) {
  Fixture f(kind);
  auto p = f.open();
  Table& t = table(*p);
  resolve(*p, 0);
  count(t, 0, 2);
  f.changelog.refuse_ = true;
  std::string error;
  BOOST_TEST(!p->prepare(2, &error));
  BOOST_TEST(error == "refused");
}

BOOST_DATA_TEST_CASE(a_lost_store_is_restored_without_the_inputs_to_be_read_again,
                     boost::unit_test::data::make(kKinds), kind) {
  Fixture f(kind);
  {
    auto p = opened(f, 0);
    commit_inputs(*p, f.changelog, 0, 6);  // every key at 2
    count(table(*p), 6, 8);                // k0=3, k1=3, sent but never committed (a crash)
    prepare(*p, 8);
    f.changelog.poll();
  }
  Fixture lost(kind);  // a new, empty store over the same changelog
  lost.changelog = f.changelog;
  auto p = opened(lost, 6);  // the committed offset
  Table& t = table(*p);
  BOOST_TEST((restore(*p, lost.changelog) == PartitionState::Restored::done));
  BOOST_TEST(get(t, "k0") == "2");
  BOOST_TEST(get(t, "k1") == "2");
  BOOST_TEST(get(t, "k2") == "2");
  // The skipped keys were written again with their committed values, so a
  // compacted changelog still restores them.
  const auto& log = lost.changelog.log();
  BOOST_REQUIRE(log.size() == 5u + 2u);
  BOOST_TEST(log[5].key == "k0");
  BOOST_TEST(log[5].stored->substr(8) == "2");
  BOOST_TEST(log[5].stamp == 5);
  lost.changelog.compact(0);
  Fixture again(kind);
  again.changelog = lost.changelog;
  auto q = opened(again, 6);
  Table& u = table(*q);
  restore(*q, again.changelog);
  BOOST_TEST(get(u, "k0") == "2");
  BOOST_TEST(get(u, "k1") == "2");
  BOOST_TEST(get(u, "k2") == "2");
  // The replay of inputs 6 and 7 counts from the restored state.
  count(u, 6, 8);
  BOOST_TEST(get(u, "k0") == "3");
}

BOOST_DATA_TEST_CASE(a_store_restores_only_what_follows_its_position,
                     boost::unit_test::data::make(kKinds), kind) {
  Fixture f(kind);
  commit_inputs(*opened(f, 0), f.changelog, 0, 3);
  // Another host went on with the partition: its changes follow ours.
  f.changelog.log().push_back({3, "k0", std::string(8, '\0') + "7", 3});
  f.changelog.log().push_back({4, "k9", std::string(8, '\0') + "1", 4});
  auto p = opened(f, 5);
  Table& t = table(*p);
  uint64_t records = 0;
  restore(*p, f.changelog, &records);
  BOOST_TEST(records == 2u);
  BOOST_TEST(get(t, "k0") == "7");
  BOOST_TEST(get(t, "k9") == "1");
  BOOST_TEST(get(t, "k1") == "1");
  BOOST_TEST(f.changelog.log().size() == 5u);  // nothing skipped, nothing rewritten
}

BOOST_DATA_TEST_CASE(an_interrupted_restore_goes_on_from_where_it_got,
                     boost::unit_test::data::make(kKinds), kind) {
  Fixture f(kind);
  commit_inputs(*opened(f, 0), f.changelog, 0, 40, 40);
  Fixture lost(kind);
  lost.changelog = f.changelog;
  lost.changelog.batch_size_ = 10;
  {
    auto p = opened(lost, 40);
    // Revoked (cancelled) once the first batch is in.
    std::atomic<bool> cancel{false};
    lost.changelog.cancel_after_batch_ = &cancel;
    uint64_t records = 0;
    BOOST_TEST(
        (restore(*p, lost.changelog, &records, &cancel) == PartitionState::Restored::cancelled));
    BOOST_TEST(records == 10u);
    lost.changelog.cancel_after_batch_ = nullptr;
  }
  auto p = opened(lost, 40);
  Table& t = table(*p);
  uint64_t records = 0;
  BOOST_TEST((restore(*p, lost.changelog, &records) == PartitionState::Restored::done));
  BOOST_TEST(records == 30u);
  BOOST_TEST(get(t, "k0") == "1");
  BOOST_TEST(get(t, "k39") == "1");
}

// With a flush interval, commits between flushes reach the changelog only;
// the Store keeps the last flush's checkpoint, and a crash restores what
// followed it from the changelog, exactly.
BOOST_DATA_TEST_CASE(commits_between_flushes_are_restored_from_the_changelog,
                     boost::unit_test::data::make(kKinds), kind) {
  Fixture f(kind);
  {
    auto p = opened(f, 0);
    p->set_flush_interval(60000);
    commit_inputs(*p, f.changelog, 0, 6, 3, 1000);  // the first checkpoint flushes
    BOOST_TEST(p->flushed() == 6);
    commit_inputs(*p, f.changelog, 6, 12, 3, 2000);
    commit_inputs(*p, f.changelog, 12, 18, 3, 3000);
    BOOST_TEST(p->flushed() == 6);
    BOOST_TEST(p->checkpointed() == 18);
    count(table(*p), 18, 20);  // prepared and acknowledged, never committed
    prepare(*p, 20);
    f.changelog.poll();
  }  // a crash: nothing more reaches the Store
  auto p = opened(f, 18);
  Table& t = table(*p);
  uint64_t records = 0;
  BOOST_TEST((restore(*p, f.changelog, &records) == PartitionState::Restored::done));
  BOOST_TEST(records == 3u + 3u + 2u);  // the batches after the flush at 6
  BOOST_TEST(get(t, "k0") == "6");
  BOOST_TEST(get(t, "k1") == "6");
  BOOST_TEST(get(t, "k2") == "6");
  count(t, 18, 20);
  BOOST_TEST(get(t, "k0") == "7");
}

// A flush (before a revoke or a stop) brings the Store to the confirmed
// offset, and the interval's end flushes by itself: nothing is restored.
BOOST_DATA_TEST_CASE(a_flush_leaves_nothing_to_restore, boost::unit_test::data::make(kKinds),
                     kind) {
  Fixture f(kind);
  {
    auto p = opened(f, 0);
    p->set_flush_interval(60000);
    for (int64_t i = 0; i < 4; ++i) commit_inputs(*p, f.changelog, i * 3, i * 3 + 3, 3, i * 1000);
    BOOST_TEST(p->flushed() == 3);
    commit_inputs(*p, f.changelog, 12, 15, 3, 61000);  // the interval is over
    BOOST_TEST(p->flushed() == 15);
    commit_inputs(*p, f.changelog, 15, 18, 3, 62000);
    BOOST_TEST(p->flushed() == 15);
    std::string error;
    BOOST_REQUIRE_MESSAGE(p->flush(&error), error);
    BOOST_TEST(p->flushed() == 18);
  }
  auto p = opened(f, 18);
  Table& t = table(*p);
  uint64_t records = 0;
  restore(*p, f.changelog, &records);
  BOOST_TEST(records == 0u);
  BOOST_TEST(get(t, "k0") == "6");
  BOOST_TEST(get(t, "k2") == "6");
}
