// The crash journal: lines the signal handler writes, read back into
// per-input counts; quarantine at the limit; the file kept short.
#define BOOST_TEST_MODULE crash_journal
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <csignal>
#include <fstream>

#include "common/crash_guard.h"
#include "pipeline/crash_journal.h"
#include "test_util.h"

using streams::pipeline::CrashJournal;
using streams::testing::TempDir;
namespace crash = streams::crash;

namespace {

// Appends what the handler would write for a crash at topic[partition]@offset.
void record_crash(int fd, int sig, const char* topic, int32_t partition, int64_t offset,
                  const char* step) {
  const streams_origin origin{sizeof(streams_origin), topic, partition, offset};
  const crash::StepLabel label{step, "testkit", "2.3.4"};
  crash::InFlight f;
  f.set_step(&label);
  f.set_origin(&origin);
  char line[512];
  const size_t n = crash::journal_line(sig, f, 1700000000000, line, sizeof line);
  BOOST_REQUIRE(n > 0);
  BOOST_REQUIRE_EQUAL(::write(fd, line, n), static_cast<ssize_t>(n));
}

}  // namespace

BOOST_AUTO_TEST_CASE(crashes_count_per_input_and_quarantine_at_the_limit) {
  TempDir dir;
  const std::string path =
      streams::pipeline::crash_journal_path(dir.path() + "/state/a", "pipeline/in put");
  BOOST_TEST(path == dir.path() + "/state/a/pipeline_in_put.crashes");
  std::string error;
  {
    auto journal = CrashJournal::open(path, &error);  // creates the directories
    BOOST_REQUIRE_MESSAGE(journal, error);
    BOOST_TEST(journal->crashes().empty());
    record_crash(journal->fd(), SIGSEGV, "in", 0, 20, "crash");
    record_crash(journal->fd(), SIGABRT, "in", 0, 20, "crash");
    record_crash(journal->fd(), SIGSEGV, "in", 1, 5, "tab\tstep");
  }
  auto journal = CrashJournal::open(path, &error);
  BOOST_REQUIRE_MESSAGE(journal, error);
  BOOST_REQUIRE_EQUAL(journal->crashes().size(), 2u);
  const auto& first = journal->crashes()[0];
  BOOST_TEST(first.count == 2u);
  BOOST_TEST(first.signal == "SIGABRT");  // the last one
  BOOST_TEST(journal->crashes()[1].step == "tab_step");

  auto q = journal->quarantined("in", 0, 2);
  BOOST_REQUIRE_EQUAL(q.size(), 1u);
  BOOST_TEST(q[0].offset == 20);
  BOOST_TEST(q[0].step == "crash");
  BOOST_TEST(q[0].message ==
             "the host crashed 2 times (last: SIGABRT) in step 'crash' (plugin testkit 2.3.4) "
             "on this input; quarantined by crash_limit 2");
  BOOST_TEST(journal->quarantined("in", 1, 2).empty());  // once only
  BOOST_TEST(journal->quarantined("in", 0, 0).empty());  // crash_limit 0: never
  BOOST_TEST(journal->quarantined("in", 1, 1).size() == 1u);
}

BOOST_AUTO_TEST_CASE(outside_a_record_nothing_is_journaled_and_junk_is_ignored) {
  char line[64];
  BOOST_TEST(crash::journal_line(SIGSEGV, crash::InFlight(), 0, line, sizeof line) == 0u);
  const auto crashes = CrashJournal::parse(
      "garbage\ncrash\t1\tSIGSEGV\tin\tx\t3\ts\tp\tv\ncrash\t1\tSIGSEGV\tin\t0\t3\ts\tp\tv\n");
  BOOST_REQUIRE_EQUAL(crashes.size(), 1u);
  BOOST_TEST(crashes[0].offset == 3);
}

BOOST_AUTO_TEST_CASE(the_journal_keeps_its_last_lines) {
  TempDir dir;
  const std::string path = dir.path() + "/g.crashes";
  {
    std::ofstream out(path);
    for (size_t i = 0; i < CrashJournal::kMaxLines + 500; ++i) {
      out << "crash\t1\tSIGSEGV\tin\t0\t" << i << "\ts\tp\tv\n";
    }
  }
  std::string error;
  auto journal = CrashJournal::open(path, &error);
  BOOST_REQUIRE_MESSAGE(journal, error);
  BOOST_REQUIRE_EQUAL(journal->crashes().size(), CrashJournal::kMaxLines + 500);  // read whole
  auto again = CrashJournal::open(path, &error);
  BOOST_REQUIRE_EQUAL(again->crashes().size(), CrashJournal::kMaxLines);
  BOOST_TEST(again->crashes().front().offset == 500);
}
