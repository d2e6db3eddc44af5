// The state stores (memory, rocksdb), the per-step Table over them and the
// partition's checkpoints, with no Kafka and no Chain.
#define BOOST_TEST_MODULE state
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "pipeline/state_query.h"
#include "state/partition_state.h"
#include "state/store.h"
#include "state/table.h"
#include "test_util.h"

using streams::state::Backend;
using streams::state::Found;
using streams::state::PartitionState;
using streams::state::Settings;
using streams::state::Table;
using streams::testing::TempDir;

namespace {

// A backend of each kind; rocksdb in its own directory.
struct Stores {
  TempDir dir;
  std::unique_ptr<Backend> backend;
  explicit Stores(const std::string& kind)
      : backend(kind == "memory" ? streams::state::memory_backend()
                                 : streams::state::rocksdb_backend(dir.path() + "/stores")) {}
  std::unique_ptr<PartitionState> open(int32_t partition = 0) {
    std::string error;
    auto store = backend->open(partition, &error);
    BOOST_REQUIRE_MESSAGE(store, error);
    auto state = PartitionState::open(std::move(store), &error);
    BOOST_REQUIRE_MESSAGE(state, error);
    return state;
  }
};

Table& table(PartitionState& p, const std::string& name = "s", Settings settings = {}) {
  std::string error;
  Table* t = p.table(name, settings, &error);
  BOOST_REQUIRE_MESSAGE(t, error);
  return *t;
}

std::string get(Table& t, const std::string& key) {
  std::string_view value;
  std::string error;
  switch (t.get(key, &value, &error)) {
    case Found::yes:
      return std::string(value);
    case Found::no:
      return "(none)";
    case Found::error:
      break;
  }
  BOOST_FAIL(error);
  return "";
}

std::string scan(Table& t, const std::string& prefix) {
  std::string out;
  std::string error;
  auto visit = [](void* ctx, std::string_view k, std::string_view v) {
    auto& o = *static_cast<std::string*>(ctx);
    o.append(o.empty() ? "" : ",").append(k).append("=").append(v);
    return true;
  };
  BOOST_REQUIRE_MESSAGE(t.scan(prefix, visit, &out, &error), error);
  return out;
}

// Prepared and committed at `offset` (as the runtime commits).
void checkpoint(PartitionState& p, int64_t offset) {
  std::string error;
  BOOST_REQUIRE_MESSAGE(p.prepare(offset, &error), error);
  BOOST_REQUIRE_MESSAGE(p.checkpoint(offset, &error), error);
}

const char* kKinds[] = {"memory", "rocksdb"};

}  // namespace

BOOST_DATA_TEST_CASE(get_put_erase_and_scan_in_key_order, boost::unit_test::data::make(kKinds),
                     kind) {
  Stores stores(kind);
  auto p = stores.open();
  Table& t = table(*p);
  BOOST_TEST(get(t, "a") == "(none)");
  t.put("b2", "B2", 0, -1);
  t.put("a1", "A1", 0, -1);
  t.put("b1", "", 1, -1);  // an empty value is present
  t.put("c", "C", 1, -1);
  BOOST_TEST(get(t, "a1") == "A1");
  BOOST_TEST(get(t, "b1") == "");
  BOOST_TEST(scan(t, "b") == "b1=,b2=B2");
  BOOST_TEST(scan(t, "") == "a1=A1,b1=,b2=B2,c=C");
  t.erase("b2", 2);
  t.erase("zz", 2);  // absent: no error
  BOOST_TEST(get(t, "b2") == "(none)");
  BOOST_TEST(scan(t, "b") == "b1=");
}

// Changes stamped before a checkpoint reach the store with it; later ones
// stay pending, and the store never shows them.
BOOST_DATA_TEST_CASE(a_checkpoint_takes_the_changes_stamped_before_it,
                     boost::unit_test::data::make(kKinds), kind) {
  Stores stores(kind);
  {
    auto p = stores.open(3);
    Table& t = table(*p);
    t.put("k", "1", 5, -1);
    t.put("j", "x", 6, -1);
    t.put("k", "2", 10, -1);
    t.erase("j", 11);
    checkpoint(*p, 8);
    BOOST_TEST(p->pending() == 2u);
    BOOST_TEST(get(t, "k") == "2");  // the table sees every change
    BOOST_TEST(p->checkpointed() == 8);
  }
  auto p = stores.open(3);  // reopened: only what the checkpoint covered
  BOOST_TEST(p->opened_at().offset == 8);
  Table& t = table(*p);
  BOOST_TEST(get(t, "k") == "1");
  BOOST_TEST(get(t, "j") == "x");
  BOOST_TEST(p->stored_steps() == std::vector<std::string>{"s"});
  t.put("k", "3", 9, -1);
  checkpoint(*p, 7);  // not past the last: nothing happens
  BOOST_TEST(p->pending() == 1u);
  checkpoint(*p, 12);
  BOOST_TEST(p->pending() == 0u);
  auto other = stores.open(4);  // partitions are apart
  BOOST_TEST(get(table(*other), "k") == "(none)");
}

// Values of every size around the cache's inline buffer (15 bytes) keep
// their bytes and state version: cached, logged, checkpointed and read back.
BOOST_DATA_TEST_CASE(values_of_any_size_keep_their_bytes_and_version,
                     boost::unit_test::data::make(kKinds), kind) {
  const size_t sizes[] = {0, 1, 7, 8, 15, 16, 17, 100};
  auto value_of = [](size_t n) {
    std::string v(n, 'v');
    if (n > 0) v.back() = static_cast<char>('0' + n % 10);
    return v;
  };
  auto check = [&](Table& t) {
    std::string error, seen;
    auto visit = [](void* ctx, std::string_view k, std::string_view v, uint32_t version) {
      static_cast<std::string*>(ctx)
          ->append(k)
          .append(":")
          .append(std::to_string(v.size()))
          .append("/")
          .append(std::to_string(version))
          .append(" ");
      return true;
    };
    BOOST_REQUIRE_MESSAGE(t.scan_versioned("k", visit, &seen, &error), error);
    BOOST_TEST(seen ==
               "k00:0/0 k01:1/1 k07:7/7 k08:8/8 k100:100/100 k15:15/15 k16:16/16 k17:17/17 ");
    for (size_t n : sizes) {
      std::string_view value;
      uint32_t version = 0;
      const std::string key = n < 10 ? "k0" + std::to_string(n) : "k" + std::to_string(n);
      BOOST_TEST((t.get(key, &value, &error, &version) == Found::yes), key);
      BOOST_TEST(std::string(value) == value_of(n), key);
      BOOST_TEST(version == n, key);
    }
  };
  Stores stores(kind);
  {
    auto p = stores.open();
    Table& t = table(*p);
    for (size_t n : sizes) {
      const std::string key = n < 10 ? "k0" + std::to_string(n) : "k" + std::to_string(n);
      t.put(key, "x", 0, 1000);  // overwritten below: the log holds both
      t.put(key, value_of(n), 1, 1000, static_cast<uint32_t>(n));
    }
    check(t);
    checkpoint(*p, 2);
    check(t);
  }
  auto p = stores.open();  // read back from the store
  check(table(*p));
}

// A scan merges the store with changes not yet checkpointed: the latter
// win, erased keys are gone, new ones appear in order.
BOOST_DATA_TEST_CASE(a_scan_merges_pending_changes_over_the_store,
                     boost::unit_test::data::make(kKinds), kind) {
  Stores stores(kind);
  {
    auto p = stores.open();
    Table& t = table(*p);
    for (const char* k : {"a1", "a3", "a5", "b"}) t.put(k, "old", 0, -1);
    checkpoint(*p, 1);
  }
  auto p = stores.open();
  Table& t = table(*p);
  t.put("a2", "new", 1, -1);
  t.erase("a3", 1);
  t.put("a5", "new", 1, -1);
  t.put("a6", "new", 1, -1);
  BOOST_TEST(scan(t, "a") == "a1=old,a2=new,a5=new,a6=new");
  BOOST_TEST(get(t, "a3") == "(none)");
}

// ttl_ms counts in event time from each write; an expired entry is
// invisible, and a purge erases it (a change like any other).
BOOST_DATA_TEST_CASE(ttl_hides_and_purges_entries_by_event_time,
                     boost::unit_test::data::make(kKinds), kind) {
  Stores stores(kind);
  auto p = stores.open();
  Settings settings;
  settings.ttl_ms = 1000;
  Table& t = table(*p, "s", settings);
  p->observe(10000, 0);
  t.put("old", "1", 0, 10000);
  p->observe(10500, 1);
  t.put("new", "2", 1, 10500);
  BOOST_TEST(get(t, "old") == "1");
  p->observe(11000, 2);  // 10000 + 1000 is not after 11000
  BOOST_TEST(get(t, "old") == "(none)");
  BOOST_TEST(get(t, "new") == "2");
  BOOST_TEST(scan(t, "") == "new=2");
  std::string error;
  BOOST_TEST(t.purge_expired(2, &error) == 1);
  checkpoint(*p, 3);
  auto again = stores.open(1);  // another partition's clock is its own
  BOOST_TEST(again->clock() == -1);
  BOOST_TEST(p->clock() == 11000);
}

// The checkpoint keeps the event clock of the inputs it covers, so a
// store reopened at it judges ttl_ms as it did then.
BOOST_AUTO_TEST_CASE(the_event_clock_is_checkpointed_with_the_inputs_before_it) {
  Stores stores("rocksdb");
  {
    auto p = stores.open();
    p->observe(100, 0);
    p->observe(200, 1);
    p->observe(300, 2);
    checkpoint(*p, 2);
  }
  auto p = stores.open();
  BOOST_TEST(p->opened_at().event_time_ms == 200);
  BOOST_TEST(p->clock() == 200);
}

BOOST_AUTO_TEST_CASE(an_unusable_state_dir_is_an_error_naming_it) {
  TempDir dir;
  const std::string file = dir.write("file", "not a directory");
  std::string error;
  BOOST_TEST(!streams::state::rocksdb_backend(file)->check(&error));
  BOOST_TEST(error.find(file) != std::string::npos, error);
  error.clear();
  BOOST_TEST(!streams::state::rocksdb_backend(file + "/below")->open(0, &error));
  BOOST_TEST(error.find(file) != std::string::npos, error);
}

BOOST_AUTO_TEST_CASE(a_corrupt_store_is_an_error_naming_it) {
  Stores stores("rocksdb");
  {
    auto p = stores.open();
    table(*p).put("k", "v", 0, -1);
    checkpoint(*p, 1);
  }
  const std::string path = stores.dir.path() + "/stores/partition-0";
  std::ofstream(path + "/CURRENT", std::ios::trunc) << "MANIFEST-999999\n";
  std::string error;
  bool corrupt = false;
  BOOST_TEST(!stores.backend->open(0, &error, &corrupt));
  BOOST_TEST(error.find(path) != std::string::npos, error);
  BOOST_TEST(corrupt, error);
  // Set aside (a changelog restores its state), it leaves room for a new
  // store and is not one of the backend's stores any more.
  std::string moved_to;
  BOOST_REQUIRE_MESSAGE(stores.backend->set_aside(0, &moved_to, &error), error);
  BOOST_TEST(moved_to.find(path + ".set-aside-") == 0, moved_to);
  auto p = stores.open();
  BOOST_TEST(p->checkpointed() == -1);
  std::vector<std::string> steps;
  BOOST_REQUIRE(stores.backend->stored_steps(&steps, &error));
  BOOST_TEST(steps.empty());
}

// Clean entries beyond the cache's bound are dropped and read again from
// the store; entries with pending changes stay.
BOOST_AUTO_TEST_CASE(the_cache_drops_clean_entries_only) {
  Stores stores("rocksdb");
  auto p = stores.open();
  Table& t = table(*p);
  const size_t n = streams::state::kCacheEntries + 10;
  for (size_t i = 0; i < n; ++i) t.put("k" + std::to_string(i), std::to_string(i), 0, -1);
  checkpoint(*p, 1);
  t.put("pending", "p", 1, -1);
  for (size_t i = 0; i < n; ++i) get(t, "x" + std::to_string(i));  // misses fill the cache
  BOOST_TEST(get(t, "k7") == "7");
  BOOST_TEST(get(t, "pending") == "p");
  BOOST_TEST(p->pending() == 1u);
}

namespace {

void prepare(PartitionState& p, int64_t offset) {
  std::string error;
  BOOST_REQUIRE_MESSAGE(p.prepare(offset, &error), error);
}

// The commit of `offset`, prepared before, confirmed.
void commit(PartitionState& p, int64_t offset) {
  std::string error;
  BOOST_REQUIRE_MESSAGE(p.checkpoint(offset, &error), error);
}

void resolve(PartitionState& p, int64_t first) {
  std::string error;
  BOOST_REQUIRE_MESSAGE(p.resolve(first, &error), error);
}

// Inputs 0..9 on one partition: input i puts "k" = i and "k<i>" = i.
void run_inputs(PartitionState& p, Table& t, int64_t from, int64_t to) {
  for (int64_t i = from; i < to; ++i) {
    p.observe(1000 + i, i);
    t.put("k", std::to_string(i), i, 1000 + i);
    t.put("k" + std::to_string(i), std::to_string(i), i, 1000 + i);
  }
}

}  // namespace

// The checkpoint protocol under a crash at each step: whatever the crash
// point, resolve(F) leaves the state of exactly the inputs before F, where
// F is where the source resumes (its committed offset).
BOOST_DATA_TEST_CASE(a_crash_at_any_step_resolves_to_the_inputs_before_the_resume_point,
                     boost::unit_test::data::make(kKinds), kind) {
  // (crash after: 0 prepare 4, 1 checkpoint 4, 2 prepare 8) x (resume at 4 or 8)
  for (int crash = 0; crash < 3; ++crash) {
    for (int64_t resume : {int64_t{4}, int64_t{8}}) {
      if (crash == 1 && resume == 8) continue;  // the commit of 8 was never sent
      if (crash == 0 && resume == 8) continue;
      BOOST_TEST_CONTEXT("crash after step " << crash << ", resume at " << resume) {
        Stores stores(kind);
        {
          auto p = stores.open();
          Table& t = table(*p);
          run_inputs(*p, t, 0, 4);
          prepare(*p, 4);
          run_inputs(*p, t, 4, 8);
          if (crash >= 1) commit(*p, 4);
          if (crash >= 2) prepare(*p, 8);
          run_inputs(*p, t, 8, 10);
        }  // killed: the Table's memory is gone
        auto p = stores.open();
        Table& t = table(*p);
        resolve(*p, resume);
        BOOST_TEST(p->checkpointed() == resume);
        BOOST_TEST(get(t, "k") == std::to_string(resume - 1));
        BOOST_TEST(get(t, "k" + std::to_string(resume - 1)) == std::to_string(resume - 1));
        BOOST_TEST(get(t, "k" + std::to_string(resume)) == "(none)");
        BOOST_TEST(p->clock() == 1000 + resume - 1);
        // The inputs from `resume` on are read again: the same state results.
        run_inputs(*p, t, resume, 10);
        checkpoint(*p, 10);
        auto again = stores.open(1);
        BOOST_TEST(p->stored_steps() == std::vector<std::string>{"s"});
      }
    }
  }
}

// A commit prepared while the one before is not yet confirmed: whichever
// of them the source resumes at after a crash, the state matches it.
BOOST_DATA_TEST_CASE(a_second_prepare_before_the_first_is_confirmed,
                     boost::unit_test::data::make(kKinds), kind) {
  for (int64_t resume : {int64_t{3}, int64_t{7}}) {
    BOOST_TEST_CONTEXT("resume at " << resume) {
      Stores stores(kind);
      {
        auto p = stores.open();
        Table& t = table(*p);
        run_inputs(*p, t, 0, 3);
        prepare(*p, 3);
        run_inputs(*p, t, 3, 7);
        prepare(*p, 7);
        run_inputs(*p, t, 7, 10);
        commit(*p, 3);
      }
      auto p = stores.open();
      Table& t = table(*p);
      resolve(*p, resume);
      BOOST_TEST(get(t, "k") == std::to_string(resume - 1));
      BOOST_TEST(get(t, "k" + std::to_string(resume - 1)) == std::to_string(resume - 1));
      BOOST_TEST(get(t, "k" + std::to_string(resume)) == "(none)");
      BOOST_TEST(p->pending() == 0u);
    }
  }
}

// Only the last change of a key in a batch is written.
BOOST_AUTO_TEST_CASE(a_batch_keeps_the_last_change_of_each_key) {
  Stores stores("memory");
  auto p = stores.open();
  Table& t = table(*p);
  for (int64_t i = 0; i < 100; ++i) t.put("k", std::to_string(i), i, -1);
  t.put("j", "x", 100, -1);
  t.erase("j", 101);
  int calls = 0;
  t.each_pending(102, [&](const Table::Pending& change) {
    ++calls;
    if (change.key == "k") BOOST_TEST(change.value->substr(8) == "99");
    if (change.key == "j") BOOST_TEST(!change.value);
  });
  BOOST_TEST(calls == 2);
  // Staged, a later commit's change of a key replaces the earlier one.
  t.mark_prepared(50);
  t.stage(50);
  t.mark_prepared(102);
  t.put("k", "100", 102, -1);
  t.stage(102);
  BOOST_TEST(t.staged() == 2u);
  t.each_staged([&](std::string_view key, const std::string* stored) {
    if (key == "k") BOOST_TEST(stored->substr(8) == "99");
    if (key == "j") BOOST_TEST(!stored);
  });
  BOOST_TEST(t.pending() == 1u);
  checkpoint(*p, 102);  // the Store takes the staged changes
  BOOST_TEST(t.staged() == 0u);
  BOOST_TEST(get(t, "k") == "100");
  p.reset();
  auto q = stores.open();
  Table& u = table(*q);
  BOOST_TEST(get(u, "k") == "99");
  BOOST_TEST(get(u, "j") == "(none)");
}

// Between prepares a key holds one change: an input's change replaces the
// key's unprepared one, so memory is bounded by keys, not inputs.
BOOST_DATA_TEST_CASE(an_inputs_change_replaces_the_keys_unprepared_one,
                     boost::unit_test::data::make(kKinds), kind) {
  Stores stores(kind);
  {
    auto p = stores.open();
    Table& t = table(*p);
    resolve(*p, 0);
    for (int64_t i = 0; i < 100; ++i) {
      p->observe(1000 + i, i);
      t.put("k" + std::to_string(i % 2), std::to_string(i), i, -1);
    }
    BOOST_TEST(p->pending() == 2u);
    checkpoint(*p, 100);
    BOOST_TEST(p->pending() == 0u);
    p->observe(1100, 100);
    t.put("k0", "100", 100, -1);  // a new change after a prepare
    BOOST_TEST(p->pending() == 1u);
  }
  auto p = stores.open();
  Table& t = table(*p);
  BOOST_TEST(get(t, "k0") == "98");
  BOOST_TEST(get(t, "k1") == "99");
}

// A change made between inputs (a window closed by time) is stamped with
// the next input's offset N. A prepare at N must still write the value the
// key had before N: the change takes a slot of its own, and the next input
// replaces it (same stamp).
BOOST_DATA_TEST_CASE(a_change_between_inputs_keeps_the_value_before_it,
                     boost::unit_test::data::make(kKinds), kind) {
  for (bool crash : {false, true}) {
    BOOST_TEST_CONTEXT("crash after the commit of 5: " << crash) {
      Stores stores(kind);
      {
        auto p = stores.open();
        Table& t = table(*p);
        resolve(*p, 0);
        run_inputs(*p, t, 0, 5);  // k = 4
        p->stamp_between(5);
        t.put("k", "closed", p->stamp(), -1);
        BOOST_TEST(p->pending() == 7u);  // k twice, k0..k4
        checkpoint(*p, 5);
        BOOST_TEST(p->pending() == 1u);  // the change stamped 5 waits for input 5
        BOOST_TEST(get(t, "k") == "closed");
        if (!crash) {
          run_inputs(*p, t, 5, 6);  // k = 5, in the same slot
          BOOST_TEST(p->pending() == 2u);
          checkpoint(*p, 6);
        }
      }
      auto p = stores.open();
      Table& t = table(*p);
      BOOST_TEST(get(t, "k") == (crash ? "4" : "5"));
    }
  }
}

// A prepare moves the changes before its offset ahead of the later ones
// and keeps each key's later changes in order (here stamps a caller gave
// out of order, with no input observed: every change is its own).
BOOST_AUTO_TEST_CASE(a_prepare_keeps_a_keys_later_changes_in_order) {
  Stores stores("memory");
  {
    auto p = stores.open();
    Table& t = table(*p);
    resolve(*p, 0);
    t.put("k", "b", 12, -1);
    t.put("k", "c", 13, -1);
    t.put("j", "x", 3, -1);
    checkpoint(*p, 11);  // j only
    BOOST_TEST(p->pending() == 2u);
    checkpoint(*p, 14);
  }
  auto p = stores.open();
  Table& t = table(*p);
  BOOST_TEST(get(t, "j") == "x");
  BOOST_TEST(get(t, "k") == "c");
}

// A prepare must be at the processed end: before an input that changed a
// key, that input may have replaced the value the prepare needs.
BOOST_AUTO_TEST_CASE(a_prepare_before_an_input_that_made_changes_is_refused) {
  Stores stores("memory");
  auto p = stores.open();
  Table& t = table(*p);
  resolve(*p, 0);
  run_inputs(*p, t, 0, 10);
  std::string error;
  BOOST_TEST(!p->prepare(4, &error));
  BOOST_TEST(error.find("step 's'") != std::string::npos, error);
  BOOST_TEST(p->prepare(10, &error), error);
}

// What a backend says its stores hold, without opening them: the steps'
// names only.
BOOST_DATA_TEST_CASE(a_backend_lists_the_steps_its_stores_hold,
                     boost::unit_test::data::make(kKinds), kind) {
  Stores stores(kind);
  std::vector<std::string> names;
  std::string error;
  BOOST_REQUIRE_MESSAGE(stores.backend->stored_steps(&names, &error), error);
  BOOST_TEST(names.empty());
  {
    auto p0 = stores.open(0);
    auto p1 = stores.open(1);
    table(*p0, "a");
    table(*p1, "b");
    table(*p1, "a");
  }
  BOOST_REQUIRE_MESSAGE(stores.backend->stored_steps(&names, &error), error);
  BOOST_TEST(names == (std::vector<std::string>{"a", "b"}), boost::test_tools::per_element());
}

// Expired entries are erased as changes of the current input, at most once
// an interval, and only once the store is resolved.
BOOST_AUTO_TEST_CASE(expired_entries_are_purged_periodically) {
  Stores stores("rocksdb");
  auto p = stores.open();
  Settings settings;
  settings.ttl_ms = 1000;
  Table& t = table(*p, "s", settings);
  std::string error;
  BOOST_TEST(p->purge_expired(0, 60000, &error) == 0);  // not resolved yet
  resolve(*p, 0);
  p->observe(10000, 0);
  t.put("a", "1", 0, 10000);
  t.put("b", "2", 0, 10000);
  p->observe(10500, 1);
  t.put("c", "3", 1, 10500);
  prepare(*p, 2);
  checkpoint(*p, 2);
  p->observe(11200, 2);  // a and b expired, c not
  BOOST_TEST(p->purge_expired(100, 60000, &error) == 2);
  BOOST_TEST(p->purge_expired(200, 60000, &error) == 0);  // within the interval
  prepare(*p, 3);
  checkpoint(*p, 3);
  BOOST_TEST(p->pending() == 0u);
  p.reset();
  // Read without a ttl: the store no longer holds the purged entries.
  p = stores.open();
  Table& all = table(*p, "s", Settings{});
  BOOST_TEST(scan(all, "") == "c=3");
}

// `streams-host state --config`: a store opened to read, beside its open
// writer, answers as of its last checkpoint (ttl_ms from the event clock
// checkpointed with it); its writes fail, and it creates nothing.
BOOST_AUTO_TEST_CASE(a_store_opened_to_read_answers_as_of_its_checkpoint) {
  Stores stores("rocksdb");
  auto p = stores.open(3);
  Settings settings;
  settings.ttl_ms = 1000;
  Table& t = table(*p, "s", settings);
  resolve(*p, 0);
  p->observe(10000, 0);
  t.put("a", "1", 0, 10000);
  p->observe(11200, 1);
  t.put("b", "2", 1, 11200);
  p->observe(11500, 2);
  checkpoint(*p, 2);          // its clock 11200: a, written at 10000, has expired
  t.put("c", "3", 2, 11500);  // after the checkpoint: not in the store yet

  const std::string dir = stores.dir.path() + "/stores";
  std::string error;
  auto store = streams::state::open_rocksdb_to_read(dir, 3, &error);
  BOOST_REQUIRE_MESSAGE(store, error);
  BOOST_TEST(store->checkpoint().offset == 2);
  uint32_t family = 0;
  BOOST_REQUIRE_MESSAGE(store->family("s", &family, &error), error);
  const int64_t clock = store->checkpoint().event_time_ms, input = 2;
  Table read(*store, family, "s", settings, clock, input);
  streams::pipeline::StateQuery q;
  q.scan = true;
  auto answer = streams::pipeline::read_state(read, q, nlohmann::json{{"step", "s"}});
  BOOST_TEST(answer.status == 200u);
  BOOST_TEST(nlohmann::json::parse(answer.body)["entries"] ==
                 nlohmann::json::parse(R"([{"key": "b", "value": "2"}])"),
             answer.body);
  q.scan = false;
  q.key = "a";
  answer = streams::pipeline::read_state(read, q, nlohmann::json{{"step", "s"}});
  BOOST_TEST(answer.status == 404u, answer.body);
  BOOST_TEST(answer.body == R"({"key":"a","step":"s"})");

  BOOST_TEST(!store->family("other", &family, &error));
  BOOST_TEST(error.find("holds no state of step 'other'") != std::string::npos, error);
  BOOST_TEST(!store->commit({}, {}, &error));
  BOOST_TEST(error.find("opened to read only") != std::string::npos, error);
  BOOST_TEST(!streams::state::open_rocksdb_to_read(dir, 4, &error));
  BOOST_TEST(error.find(dir + "/partition-4 cannot be read") != std::string::npos, error);
}

// A step's memtable shares the process's 128 MiB with the families open:
// 16 MiB while a few are, down to 1 MiB past 128 (and its bloom with it).
BOOST_AUTO_TEST_CASE(memtables_share_the_budget_with_the_families_open) {
  using streams::state::step_memtable_bytes;
  const size_t mib = size_t{1} << 20;
  BOOST_TEST(step_memtable_bytes(0) == 16 * mib);
  BOOST_TEST(step_memtable_bytes(7) == 16 * mib);
  BOOST_TEST(step_memtable_bytes(15) == 8 * mib);
  BOOST_TEST(step_memtable_bytes(63) == 2 * mib);
  BOOST_TEST(step_memtable_bytes(127) == mib);
  BOOST_TEST(step_memtable_bytes(5000) == mib);
  BOOST_TEST(step_memtable_bytes(-3) == 16 * mib);
}
