// The Python bridge's module versions across reloads: a generation's
// version stays usable while the generation lives (a partition assigned
// later, after reloads were built and dropped, gets instances of it), and
// versions no generation holds are let go, so the old modules and all
// they allocated do not pile up reload after reload.
#define BOOST_TEST_MODULE python_versions
#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <filesystem>
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

// Module `live`: its map answers how many modules of its name are alive
// (after a collection).
const char kLive[] =
    "import gc\n"
    "def count(msg):\n"
    "    gc.collect()\n"
    "    return b'%d' % sum(1 for o in gc.get_objects()\n"
    "                       if isinstance(o, dict) and o.get('__name__') == 'live')\n";

std::shared_ptr<const pipeline::Generation> version(const testing::TempDir& dir, int n,
                                                    const std::string& fn = "vers.tag") {
  dir.write("vers.py", module(n));
  config::Diagnostics diag;
  auto g =
      testing::build(dir, "  - {kind: map, name: m, python: " + fn + "}\n", TEST_PLUGINS_DIR, diag);
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

// A partition's chain of a generation, made once: what it writes for
// each input.
struct Partition {
  testing::FakeSink sink;
  testing::FakeErrors errors;
  metrics::PipelineMetrics metrics{"test"};
  std::unique_ptr<pipeline::Chain> chain;

  explicit Partition(const std::shared_ptr<const pipeline::Generation>& g) {
    std::string error;
    chain = pipeline::Chain::create(g, {&sink}, errors, metrics, &error);
    BOOST_REQUIRE_MESSAGE(chain, error);
  }
  std::string output() {
    streams_record r{};
    r.struct_size = sizeof r;
    const streams_origin origin{sizeof(streams_origin), "t", 0, 0};
    const size_t before = sink.written.size();
    chain->process(r, origin, 1);
    BOOST_REQUIRE(sink.written.size() == before + 1);
    return sink.written.back().value;
  }
};

}  // namespace

// A reload's old version goes once its generation does (the partitions
// switched), while the new one's chains run on: not at the next reload.
BOOST_AUTO_TEST_CASE(an_old_version_goes_with_its_last_generation) {
  ::setenv("STREAMS_PYTHON_BRIDGE", PYTHON_BRIDGE, 0);
  testing::TempDir dir;
  dir.write("live.py", kLive);
  auto old = version(dir, 1, "live.count");
  BOOST_TEST(output(old) == "1");
  const auto now = version(dir, 2, "live.count");  // vers.py changed: a new version
  Partition partition(now);
  BOOST_TEST(partition.output() == "2");  // the old generation runs on meanwhile
  old.reset();
  BOOST_TEST(partition.output() == "1");
}

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

// A virtualenv beside the pipeline file ($VIRTUAL_ENV, its .pth files read):
// its packages are imported, and stay loaded when a reload imports the
// user's modules anew (C extensions cannot be loaded twice).
BOOST_AUTO_TEST_CASE(a_virtualenv_beside_the_modules_stays_loaded_across_versions) {
  ::setenv("STREAMS_PYTHON_BRIDGE", PYTHON_BRIDGE, 0);
  testing::TempDir dir;
  const std::string site = dir.path() + "/.venv/" VENV_SITE_PACKAGES;
  std::filesystem::create_directories(site + "/vendored");
  dir.write(".venv/" VENV_SITE_PACKAGES "/vendored.pth", "vendored\n");
  dir.write(".venv/" VENV_SITE_PACKAGES "/vendored/venvmod.py",
            "import builtins\n"
            "builtins.venvmod_imports = getattr(builtins, 'venvmod_imports', 0) + 1\n"
            "IMPORTS = builtins.venvmod_imports\n");
  dir.write("uses.py", "import venvmod\ndef tag(msg):\n    return b'%d' % venvmod.IMPORTS\n");
  ::setenv("VIRTUAL_ENV", (dir.path() + "/.venv").c_str(), 1);
  BOOST_TEST(output(version(dir, 1, "uses.tag")) == "1");
  BOOST_TEST(output(version(dir, 2, "uses.tag")) == "1");  // vers.py changed: a new version
  ::unsetenv("VIRTUAL_ENV");
}
