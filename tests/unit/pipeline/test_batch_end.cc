// Batch ends (host_api.defer_to_batch_end) and the Python bridge's use of
// them: the GIL kept across the calls of a batch, let go at its end, and
// never held against a thread that waits for it.
#define BOOST_TEST_MODULE batch_end
#include <boost/test/unit_test.hpp>

#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "pipeline/batch_end.h"
#include "pipeline/chain.h"
#include "test_util.h"

using namespace streams;
using namespace std::chrono_literals;

// The interpreter the bridge starts is never finalized, as in the host
// (host/cli/main.cc): what libpython allocated stays reachable from it.
extern "C" const char* __lsan_default_suppressions() { return "leak:libpython3\n"; }

namespace {

std::vector<int> ran;
void note(void* arg) { ran.push_back(static_cast<int>(reinterpret_cast<intptr_t>(arg))); }
void* as_arg(intptr_t n) { return reinterpret_cast<void*>(n); }

}  // namespace

BOOST_AUTO_TEST_CASE(requests_run_in_order_at_the_batch_end_of_an_armed_thread) {
  ran.clear();
  BOOST_TEST(pipeline::defer_to_batch_end(&note, as_arg(1)) == STREAMS_RECORD_ERROR);
  {
    const pipeline::BatchScope scope;
    BOOST_TEST(pipeline::defer_to_batch_end(&note, as_arg(1)) == STREAMS_OK);
    BOOST_TEST(pipeline::defer_to_batch_end(&note, as_arg(2)) == STREAMS_OK);
    BOOST_TEST(ran.empty());
    pipeline::end_batch();
    BOOST_TEST(ran == (std::vector<int>{1, 2}));
    pipeline::end_batch();  // each runs once
    BOOST_TEST(ran.size() == 2u);
    BOOST_TEST(pipeline::defer_to_batch_end(&note, as_arg(3)) == STREAMS_OK);
    // Another thread is not armed by this one's scope and runs none of its requests.
    std::thread([] {
      BOOST_TEST(pipeline::defer_to_batch_end(&note, as_arg(9)) == STREAMS_RECORD_ERROR);
      pipeline::end_batch();
    }).join();
    BOOST_TEST(ran.size() == 2u);
  }  // the scope's end ends the batch
  BOOST_TEST(ran == (std::vector<int>{1, 2, 3}));
  BOOST_TEST(pipeline::defer_to_batch_end(&note, as_arg(4)) == STREAMS_RECORD_ERROR);
}

BOOST_AUTO_TEST_CASE(a_full_batch_refuses_more_requests) {
  ran.clear();
  const pipeline::BatchScope scope;
  int taken = 0;
  while (pipeline::defer_to_batch_end(&note, as_arg(taken)) == STREAMS_OK && taken < 1000) ++taken;
  BOOST_TEST(taken >= 4);
  BOOST_TEST(taken < 1000);
  pipeline::end_batch();
  BOOST_TEST(ran.size() == static_cast<size_t>(taken));
  BOOST_TEST(pipeline::defer_to_batch_end(&note, as_arg(0)) == STREAMS_OK);
}

// ---- the Python bridge -------------------------------------------------------

namespace {

class CountingSink : public pipeline::OutputSink {
 public:
  pipeline::WriteResult write(const streams_record&, uint64_t, const streams_origin*,
                              std::string*) override {
    ++written;
    return pipeline::WriteResult::ok;
  }
  std::string describe() const override { return "counting"; }
  std::atomic<int> written{0};
};

class NoErrors : public pipeline::ErrorHandler {
 public:
  bool on_record_error(const pipeline::RecordError&) override {
    ++errors;
    return true;
  }
  std::atomic<int> errors{0};
};

// A chain of one Python identity map, and what it wrote.
struct PythonChain {
  explicit PythonChain(const testing::TempDir& dir) {
    ::setenv("STREAMS_PYTHON_BRIDGE", PYTHON_BRIDGE, 0);
    dir.write("fns.py", "def identity(msg):\n    return msg.payload\n");
    config::Diagnostics diag;
    auto g = testing::build(dir, "  - {kind: map, name: m, python: fns.identity}\n",
                            TEST_PLUGINS_DIR, diag);
    BOOST_REQUIRE_MESSAGE(g, testing::all_errors(diag));
    std::string error;
    chain = pipeline::Chain::create(g, {&sink}, errors, metrics, &error);
    BOOST_REQUIRE_MESSAGE(chain, error);
  }
  void process() {
    static const char value[] = "v";
    streams_record r{};
    r.struct_size = sizeof r;
    r.value = {reinterpret_cast<const uint8_t*>(value), 1};
    const streams_origin origin{sizeof(streams_origin), "t", 0, 0};
    chain->process(r, origin, ++token);
  }

  CountingSink sink;
  NoErrors errors;
  metrics::PipelineMetrics metrics{"test"};
  std::unique_ptr<pipeline::Chain> chain;
  uint64_t token = 0;
};

// Whether the calling thread holds the GIL, asked of the interpreter the
// bridge runs (loaded by then).
bool holds_gil() {
  void* python = ::dlopen("libpython3.11.so.1.0", RTLD_NOW | RTLD_NOLOAD);
  BOOST_REQUIRE(python);
  auto check = reinterpret_cast<int (*)()>(::dlsym(python, "PyGILState_Check"));
  BOOST_REQUIRE(check);
  const bool held = check() == 1;
  ::dlclose(python);
  return held;
}

template <typename F>
bool done_by(std::future<F>& f, std::chrono::seconds limit) {
  return f.wait_for(limit) == std::future_status::ready;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_gil_stays_with_a_batch_and_goes_at_its_end) {
  testing::TempDir dir;
  PythonChain python(dir);
  python.process();  // no batches on this thread: taken and let go per call
  BOOST_TEST(python.sink.written == 1);
  BOOST_TEST(!holds_gil());
  {
    const pipeline::BatchScope scope;
    python.process();
    python.process();
    BOOST_TEST(python.sink.written == 3);
    BOOST_TEST(holds_gil());  // kept between the calls of a batch
    pipeline::end_batch();
    BOOST_TEST(!holds_gil());
    python.process();
    BOOST_TEST(holds_gil());
  }  // a scope's end ends its batch
  BOOST_TEST(!holds_gil());
  BOOST_TEST(python.errors.errors == 0);
}

// A thread that needs the GIL (here: to create a Python step's instance, as
// the control plane does for a reload) gets it at the batch's next call,
// without waiting for the batch to end.
BOOST_AUTO_TEST_CASE(a_thread_waiting_for_the_gil_gets_it_within_a_batch) {
  testing::TempDir dir;
  PythonChain python(dir);
  const pipeline::BatchScope scope;
  python.process();
  BOOST_REQUIRE(holds_gil());
  std::atomic<bool> other_done{false};
  auto other = std::async(std::launch::async, [&] {
    testing::TempDir other_dir;
    PythonChain second(other_dir);
    second.process();
    other_done = true;
    return second.sink.written.load();
  });
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!other_done && std::chrono::steady_clock::now() < deadline) python.process();
  pipeline::end_batch();  // lets a stuck one finish either way
  BOOST_REQUIRE(done_by(other, 60s));
  BOOST_TEST(other_done.load());
  BOOST_TEST(other.get() == 1);
}

// Two threads each running Python in batches: neither keeps the GIL from
// the other (they take turns per call while both run), and both finish.
BOOST_AUTO_TEST_CASE(two_threads_with_batches_both_progress) {
  testing::TempDir dir_a, dir_b;
  PythonChain a(dir_a), b(dir_b);
  auto run = [](PythonChain& c) {
    const pipeline::BatchScope scope;
    for (int i = 0; i < 20000; ++i) {
      c.process();
      if (i % 100 == 99) pipeline::end_batch();
    }
    return c.sink.written.load();
  };
  auto fa = std::async(std::launch::async, run, std::ref(a));
  auto fb = std::async(std::launch::async, run, std::ref(b));
  BOOST_REQUIRE(done_by(fa, 120s));
  BOOST_REQUIRE(done_by(fb, 120s));
  BOOST_TEST(fa.get() == 20000);
  BOOST_TEST(fb.get() == 20000);
  BOOST_TEST(!holds_gil());
}
