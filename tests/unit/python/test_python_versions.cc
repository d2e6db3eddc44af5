// The Python bridge's module versions across reloads: a generation's
// version stays usable while the generation lives (a partition assigned
// later, after reloads were built and dropped, gets instances of it), and
// versions no generation holds are let go, so the old modules and all
// they allocated do not pile up reload after reload.
#define BOOST_TEST_MODULE python_versions
#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <memory>
#include <string>

#include "fakes.h"
#include "pipeline/chain.h"
#include "test_util.h"

using namespace streams;

// The interpreter is never finalized (the host never does either): what
// libpython allocated stays reachable from it.
extern "C" const char* __lsan_default_suppressions() { return "leak:libpython3\n"; }

namespace {

// Module `vers` at version `n`: its map answers "vN LIVE", LIVE the number
// of vers modules alive (after a collection) when it was imported.
std::string module(int n) {
  return "import gc\n"
         "gc.collect()\n"
         "LIVE = sum(1 for o in gc.get_objects()\n"
         "           if isinstance(o, dict) and o.get('__name__') == 'vers' and 'LIVE' in o) + 1\n"
         "def tag(msg):\n"
         "    return b'v" +
         std::to_string(n) + " %d' % LIVE\n";
}

std::shared_ptr<const pipeline::Generation> version(const testing::TempDir& dir, int n) {
  dir.write("vers.py", module(n));
  config::Diagnostics diag;
  auto g =
      testing::build(dir, "  - {kind: map, name: m, python: vers.tag}\n", TEST_PLUGINS_DIR, diag);
  BOOST_REQUIRE_MESSAGE(g, testing::all_errors(diag));
  return g;
}

// What a new chain of `g` (a partition assigned now) writes for one input.
std::string output(const std::shared_ptr<const pipeline::Generation>& g) {
  testing::FakeSink sink;
  testing::FakeErrors errors;
  metrics::PipelineMetrics metrics("test");
  std::string error;
  auto chain = pipeline::Chain::create(g, {&sink}, errors, metrics, &error);
  BOOST_REQUIRE_MESSAGE(chain, error);
  streams_record r{};
  r.struct_size = sizeof r;
  const streams_origin origin{sizeof(streams_origin), "t", 0, 0};
  chain->process(r, origin, 1);
  BOOST_REQUIRE(sink.written.size() == 1u);
  return sink.written[0].value;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_live_generation_keeps_its_version_and_dropped_ones_are_let_go) {
  ::setenv("STREAMS_PYTHON_BRIDGE", PYTHON_BRIDGE, 0);
  testing::TempDir dir;
  const auto running = version(dir, 1);
  BOOST_TEST(output(running) == "v1 1");
  // Ten reloads built and dropped (refused, say) while version 1 runs on.
  for (int n = 2; n <= 11; ++n) {
    const std::string tag = "v" + std::to_string(n) + " ";
    BOOST_TEST(output(version(dir, n)).substr(0, tag.size()) == tag);
  }
  // A partition assigned now still gets version 1.
  BOOST_TEST(output(running) == "v1 1");
  // The next version sees the running one, the one before it at most, and
  // itself: not the eleven made so far.
  const std::string latest = output(version(dir, 12));
  BOOST_TEST(latest.substr(0, 4) == "v12 ");
  BOOST_TEST(std::stoi(latest.substr(4)) <= 3, latest);
}
