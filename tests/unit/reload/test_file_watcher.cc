// The file watcher against a real directory: a file written, and a mounted
// Kubernetes ConfigMap's update (the `..data` symlink swapped), each
// reported once quiet; a file it does not watch is not. A directory made
// after the start (a plugins directory), or in place of a watched one, is
// watched from then on.
#define BOOST_TEST_MODULE file_watcher
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "reload/file_watcher.h"
#include "reload/link_points.h"
#include "test_util.h"

using namespace streams;
namespace fs = std::filesystem;

namespace {

// A watcher of `name` in `dir` and what it reported.
struct Watched {
  boost::asio::io_context io;
  std::vector<std::string> reports;
  std::unique_ptr<reload::FileWatcher> watcher;

  explicit Watched(reload::WatchSpec spec,
                   std::chrono::milliseconds quiet = std::chrono::milliseconds(20))
      : Watched(std::vector<reload::WatchSpec>{std::move(spec)}, quiet) {}
  explicit Watched(const std::vector<reload::WatchSpec>& specs,
                   std::chrono::milliseconds quiet = std::chrono::milliseconds(20)) {
    std::string error;
    watcher = reload::FileWatcher::start(
        io, specs, quiet, [this](const std::string& names) { reports.push_back(names); }, &error);
    BOOST_REQUIRE_MESSAGE(watcher, error);
  }
  // Runs the loop until a report comes (true) or 10 s pass.
  bool report() {
    const size_t before = reports.size();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (reports.size() == before && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(10));
    }
    return reports.size() > before;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_written_file_is_reported_once_quiet) {
  testing::TempDir dir;
  Watched w(reload::WatchSpec::file(dir.path() + "/d.yaml"));
  dir.write("other.yaml", "x: 1\n");
  dir.write("d.yaml", "a: 1\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "d.yaml");
}

// What a watcher saw and has not reported yet is taken by the one taking
// its place (a reload's new files), and not reported by it.
BOOST_AUTO_TEST_CASE(what_was_not_reported_is_taken) {
  testing::TempDir dir;
  Watched w(reload::WatchSpec::file(dir.path() + "/d.yaml"), std::chrono::seconds(30));
  dir.write("d.yaml", "a: 1\n");
  std::string pending;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pending.empty() && std::chrono::steady_clock::now() < deadline) {
    w.io.run_for(std::chrono::milliseconds(10));
    pending = w.watcher->take_pending();
  }
  BOOST_TEST(pending == "d.yaml");
  BOOST_TEST(w.watcher->take_pending() == "");
  BOOST_TEST(w.reports.empty());
}

// What the kernel holds for a watcher and its loop has not read yet is
// taken too: a reload's new watcher takes the old one's place from a task
// that may run before that read.
BOOST_AUTO_TEST_CASE(what_the_kernel_holds_is_taken_too) {
  testing::TempDir dir;
  Watched w(reload::WatchSpec::file(dir.path() + "/d.yaml"), std::chrono::seconds(30));
  dir.write("d.yaml", "a: 1\n");  // the loop does not run
  BOOST_TEST(w.watcher->take_pending() == "d.yaml");
  BOOST_TEST(w.watcher->take_pending() == "");
}

// The files a reload read before they were watched: those of the specs
// asked about written since it began are reported, once quiet.
BOOST_AUTO_TEST_CASE(files_written_since_a_time_are_reported) {
  testing::TempDir dir;
  const fs::path root(dir.path());
  fs::create_directories(root / "pkg");
  dir.write("a.py", "x = 1\n");
  const auto changed = [&](const std::string& name) {
    struct stat st;
    BOOST_REQUIRE(::stat((root / name).c_str(), &st) == 0);
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(st.st_ctim.tv_sec) +
            std::chrono::nanoseconds(st.st_ctim.tv_nsec)));
  };
  const auto since = changed("a.py") + std::chrono::nanoseconds(1);
  // File times tick with a coarse clock: written until one is later.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    dir.write("pkg/b.py", "x = 1\n");
    dir.write("x.yaml", "a: 1\n");
  } while (changed("pkg/b.py") < since && std::chrono::steady_clock::now() < deadline);
  BOOST_REQUIRE(changed("pkg/b.py") >= since);
  BOOST_REQUIRE(changed("x.yaml") >= since);
  const auto modules = reload::WatchSpec::files(
      dir.path(), ".py", [](const std::string& name) { return name[0] != '.'; });
  Watched w({modules, reload::WatchSpec::file((root / "x.yaml").string())});
  w.watcher->report_changed_since(since,
                                  [](const reload::WatchSpec& s) { return !s.suffix.empty(); });
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "pkg/b.py");
}

// As the kubelet lays out and updates a ConfigMap volume: the files are
// symlinks through `..data`, itself a symlink to a timestamped directory;
// an update writes a new directory and renames a new `..data` over.
BOOST_AUTO_TEST_CASE(a_configmap_update_is_a_change_of_its_files) {
  testing::TempDir dir;
  const fs::path root(dir.path());
  fs::create_directory(root / "..2026_12_06_a");
  dir.write("..2026_12_06_a/d.yaml", "a: 1\n");
  fs::create_directory_symlink("..2026_12_06_a", root / "..data");
  fs::create_symlink("..data/d.yaml", root / "d.yaml");
  Watched w(reload::WatchSpec::file(dir.path() + "/d.yaml"));

  fs::create_directory(root / "..2026_12_06_b");
  dir.write("..2026_12_06_b/d.yaml", "a: 2\n");
  fs::create_directory_symlink("..2026_12_06_b", root / "..data_tmp");
  fs::rename(root / "..data_tmp", root / "..data");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "d.yaml");
  BOOST_TEST(w.reports.size() == 1u);
}

// A plugins directory that does not exist when the host starts: its making
// is a change, and the plugins dropped into it are watched.
BOOST_AUTO_TEST_CASE(a_directory_made_later_is_watched_from_then_on) {
  testing::TempDir dir;
  const fs::path plugins = fs::path(dir.path()) / "plugins";
  Watched w(reload::WatchSpec::files(plugins.string(), ".so"));
  fs::create_directory(plugins);
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "plugins");
  dir.write("plugins/notes.txt", "x\n");
  dir.write("plugins/.#stamp.so", "an editor's lock\n");
  dir.write("plugins/stamp.so", "not really\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "stamp.so");
  // Its parent must be there.
  boost::asio::io_context io;
  std::string error;
  auto none = reload::FileWatcher::start(
      io, {reload::WatchSpec::files((plugins / "a" / "b").string(), ".so")},
      std::chrono::milliseconds(20), [](const std::string&) {}, &error);
  BOOST_TEST(!none);
  BOOST_TEST(error.find("cannot watch " + (plugins / "a" / "b").string() +
                        ": No such file or directory") != std::string::npos,
             error);
}

// A deploy that moves a new plugins directory into place: the new one is
// watched from then on, the old one (where the watch would follow) is not.
BOOST_AUTO_TEST_CASE(a_directory_moved_into_place_is_watched_instead) {
  testing::TempDir dir;
  const fs::path root(dir.path());
  fs::create_directory(root / "plugins");
  fs::create_directory(root / "plugins.new");
  dir.write("plugins.new/stamp.so", "new\n");
  Watched w(reload::WatchSpec::files((root / "plugins").string(), ".so"));
  fs::rename(root / "plugins", root / "plugins.old");
  fs::rename(root / "plugins.new", root / "plugins");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "plugins");
  dir.write("plugins.old/old.so", "x\n");
  dir.write("plugins/new.so", "x\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "new.so");
}

// Removed (`rm -r` before a copy): its files' removal is a change, and the
// directory made again is watched.
BOOST_AUTO_TEST_CASE(a_directory_removed_and_made_again_is_watched_again) {
  testing::TempDir dir;
  const fs::path plugins = fs::path(dir.path()) / "plugins";
  fs::create_directory(plugins);
  dir.write("plugins/stamp.so", "x\n");
  Watched w(reload::WatchSpec::files(plugins.string(), ".so"));
  fs::remove_all(plugins);
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "stamp.so");
  fs::create_directory(plugins);
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "plugins");
  dir.write("plugins/again.so", "x\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "again.so");
}

// Python modules in packages: a tree watched, its directories as made, moved
// or removed. Files are named from the tree's top; skipped directories are
// not watched.
BOOST_AUTO_TEST_CASE(a_tree_is_watched_below_as_descend_says) {
  testing::TempDir dir;
  const fs::path root(dir.path());
  fs::create_directories(root / "pkg" / "sub");
  fs::create_directories(root / ".venv" / "lib");
  dir.write("pkg/sub/mod.py", "x = 1\n");
  auto descend = [](const std::string& name) { return name[0] != '.'; };
  fs::create_directory_symlink(".", root / "loop");  // to the top again
  Watched w(reload::WatchSpec::files(dir.path(), ".py", descend));

  dir.write("top.py", "x = 1\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "top.py");

  dir.write("pkg/sub/mod.py", "x = 2\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "pkg/sub/mod.py");
  // Skipped: a change there and one in the tree make one report of the latter.
  dir.write(".venv/lib/installed.py", "x = 1\n");
  dir.write("pkg/other.py", "x = 1\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "pkg/other.py");
  // A directory without modules (a state store's) is not a change.
  fs::create_directories(root / "state" / "store");
  dir.write("state/store/LOG", "x\n");
  dir.write("pkg/again.py", "x = 1\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "pkg/again.py");
  // A package made later with a module: a change; then one written in it.
  fs::create_directories(root / "later");
  dir.write("later/mod.py", "x = 1\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "later/");
  dir.write("later/mod.py", "x = 2\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "later/mod.py");
  // Renamed within the tree: its modules are reported under the new name.
  fs::rename(root / "pkg", root / "renamed");
  BOOST_REQUIRE(w.report());
  dir.write("renamed/sub/mod.py", "x = 3\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "renamed/sub/mod.py");
  // Moved out of the tree: a change; removed: its modules' removal is.
  fs::rename(root / "renamed", fs::path(dir.path() + "-out"));
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "renamed/");
  fs::remove_all(fs::path(dir.path() + "-out"));
  fs::remove_all(root / "later");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "later/mod.py");
}

// The top of a tree swapped for a new one: the new tree is watched, and
// the old one, wherever it went, is not.
BOOST_AUTO_TEST_CASE(a_tree_swapped_is_watched_anew) {
  testing::TempDir dir;
  const fs::path root(dir.path());
  fs::create_directories(root / "mods" / "pkg");
  dir.write("mods/pkg/a.py", "x = 1\n");
  fs::create_directories(root / "mods.new" / "pkg");
  dir.write("mods.new/pkg/a.py", "x = 2\n");
  Watched w(reload::WatchSpec::files((root / "mods").string(), ".py",
                                     [](const std::string& name) { return name[0] != '.'; }));
  fs::rename(root / "mods", root / "mods.old");
  fs::rename(root / "mods.new", root / "mods");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "mods");
  dir.write("mods.old/pkg/a.py", "x = 3\n");
  dir.write("mods/pkg/a.py", "x = 4\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "pkg/a.py");
  dir.write("mods.old/pkg/a.py", "x = 5\n");
  dir.write("mods/b.py", "x = 1\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "b.py");
}

// A package linked in from elsewhere (a shared library of modules) is
// watched through its link, one linked later too, and the link's removal
// is a change; a link back up within the tree ends the walk.
BOOST_AUTO_TEST_CASE(a_linked_package_is_watched_through_its_link) {
  testing::TempDir dir;
  const fs::path root(dir.path());
  fs::create_directories(root / "mods" / "a" / "b");
  fs::create_directory_symlink("..", root / "mods" / "a" / "b" / "up");  // to a: a cycle
  fs::create_directories(root / "shared" / "sub");
  dir.write("shared/sub/helper.py", "x = 1\n");
  fs::create_directory_symlink(root / "shared", root / "mods" / "linked");
  fs::create_directories(root / "other");
  dir.write("other/lib.py", "x = 1\n");
  Watched w(reload::WatchSpec::files((root / "mods").string(), ".py",
                                     [](const std::string& name) { return name[0] != '.'; }));

  dir.write("shared/sub/helper.py", "x = 2\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "linked/sub/helper.py");
  dir.write("mods/a/b/mod.py", "x = 1\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "a/b/mod.py");

  fs::create_directory_symlink(root / "other", root / "mods" / "later");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "later/");
  dir.write("other/lib.py", "x = 2\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "later/lib.py");

  fs::remove(root / "mods" / "later");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "later/");
  dir.write("other/lib.py", "x = 3\n");  // no longer watched
  dir.write("mods/top.py", "x = 1\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "top.py");
}

// More directories below a tree than the watcher takes (1,000): those it
// took are watched, and one warning says so, not one more for each made
// later.
BOOST_AUTO_TEST_CASE(past_a_thousand_directories_below_one_warning) {
  testing::TempDir dir;
  const fs::path root(dir.path());
  for (int i = 0; i < 1010; ++i) fs::create_directory(root / ("d" + std::to_string(i)));
  std::unique_ptr<Watched> w;
  const std::string log = testing::captured_stderr([&] {
    w = std::make_unique<Watched>(reload::WatchSpec::files(
        dir.path(), ".py", [](const std::string& name) { return name[0] != '.'; }));
    fs::create_directory(root / "later");
    dir.write("later/mod.py", "x = 1\n");
    dir.write("top.py", "x = 1\n");
    BOOST_REQUIRE(w->report());
  });
  BOOST_TEST(w->reports.back() == "top.py");
  const std::string warning = "more than 1000 directories under " + dir.path();
  const size_t first = log.find(warning);
  BOOST_TEST(first != std::string::npos, log);
  BOOST_TEST(log.find(warning, first + 1) == std::string::npos, log);
}

// A deploy that points a link at a new release (`current -> releases/2`):
// what is watched through the link is watched in the new release from then
// on, the flip is a change, and the old release's changes are not.
BOOST_AUTO_TEST_CASE(a_link_on_the_way_pointed_elsewhere_is_followed) {
  testing::TempDir dir;
  const fs::path root(dir.path());
  for (const char* release : {"1", "2"}) {
    fs::create_directories(root / "releases" / release / "plugins");
    dir.write(std::string("releases/") + release + "/p.yaml", "a: 1\n");
  }
  fs::create_directory_symlink("releases/1", root / "current");
  Watched w({reload::WatchSpec::file((root / "current" / "p.yaml").string()),
             reload::WatchSpec::files((root / "current" / "plugins").string(), ".so")});

  fs::create_directory_symlink("releases/2", root / "current.new");
  fs::rename(root / "current.new", root / "current");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "p.yaml, plugins");
  dir.write("releases/1/p.yaml", "a: 2\n");
  dir.write("releases/1/plugins/old.so", "x\n");
  dir.write("releases/2/plugins/new.so", "x\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "new.so");
  dir.write("releases/2/p.yaml", "a: 2\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "p.yaml");
}

// A file that is a link (`p.yaml -> real/p.yaml`): an edit where it lives is
// its change; pointed at another file, that one is watched instead.
BOOST_AUTO_TEST_CASE(a_linked_file_is_watched_where_it_lives) {
  testing::TempDir dir;
  const fs::path root(dir.path());
  fs::create_directories(root / "real");
  dir.write("real/p.yaml", "a: 1\n");
  dir.write("real/q.yaml", "a: 1\n");
  fs::create_symlink("real/p.yaml", root / "p.yaml");
  Watched w({reload::WatchSpec::file((root / "p.yaml").string()),
             reload::WatchSpec::file((root / "d.yaml").string())});

  dir.write("real/p.yaml", "a: 2\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "p.yaml");
  fs::create_symlink("real/q.yaml", root / "p.yaml.new");
  fs::rename(root / "p.yaml.new", root / "p.yaml");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "p.yaml");
  dir.write("real/p.yaml", "a: 3\n");  // no longer its file
  dir.write("d.yaml", "a: 1\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "d.yaml");
  dir.write("real/q.yaml", "a: 2\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "p.yaml");
}

// Where links route a path: each link met, as the kernel resolves them
// (relative, absolute, through `..`), and what it resolves to.
BOOST_AUTO_TEST_CASE(link_points_are_those_the_kernel_resolves) {
  testing::TempDir dir;
  const std::string root = fs::canonical(dir.path()).string();
  fs::create_directories(root + "/releases/2/conf");
  fs::create_directory_symlink("releases/2", root + "/current");
  fs::create_symlink(root + "/current/conf/p.yaml", root + "/p.yaml");
  const auto points = reload::link_points(root + "/p.yaml");
  BOOST_REQUIRE(points.links.size() == 2u);
  BOOST_TEST(points.links[0].dir == root);
  BOOST_TEST(points.links[0].name == "p.yaml");
  BOOST_TEST(points.links[1].dir == root);
  BOOST_TEST(points.links[1].name == "current");
  BOOST_TEST(points.target.dir == root + "/releases/2/conf");
  BOOST_TEST(points.target.name == "p.yaml");  // not made yet: as given
  fs::create_directory_symlink("../..", root + "/releases/2/up");
  const auto up = reload::link_points(root + "/releases/2/up/current/conf");
  BOOST_REQUIRE(up.links.size() == 2u);
  BOOST_TEST(up.links[0].dir == root + "/releases/2");
  BOOST_TEST(up.target.dir == root + "/releases/2");
  BOOST_TEST(up.target.name == "conf");
  BOOST_TEST(reload::link_points(root + "/releases").links.empty());
}

// Plugins linked from a build directory (`plugins/a.so -> ../build/a.so`):
// a rebuild there is the plugin's change; a link re-pointed, made later or
// removed is a change, and the file it leads to is watched instead.
BOOST_AUTO_TEST_CASE(linked_files_are_watched_where_they_live) {
  testing::TempDir dir;
  const fs::path root(dir.path());
  fs::create_directories(root / "plugins");
  fs::create_directories(root / "build");
  for (const char* name : {"a.so", "b.so", "c.so"}) dir.write(std::string("build/") + name, "1\n");
  fs::create_symlink("../build/a.so", root / "plugins" / "a.so");
  Watched w({reload::WatchSpec::files((root / "plugins").string(), ".so"),
             reload::WatchSpec::file((root / "d.yaml").string())});

  dir.write("build/a.so", "2\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "a.so");
  fs::create_symlink("../build/b.so", root / "plugins" / "a.so.new");  // not a .so name
  fs::rename(root / "plugins" / "a.so.new", root / "plugins" / "a.so");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "a.so");
  dir.write("build/a.so", "3\n");  // no longer what a.so leads to
  dir.write("d.yaml", "a: 1\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "d.yaml");
  dir.write("build/b.so", "2\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "a.so");

  fs::create_symlink("../build/c.so", root / "plugins" / "c.so");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "c.so");
  dir.write("build/c.so", "2\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "c.so");
  fs::remove(root / "plugins" / "c.so");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "c.so");
  dir.write("build/c.so", "3\n");  // removed from the plugins
  dir.write("d.yaml", "a: 2\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "d.yaml");
}

// The kernel's queue overflowed while the loop did not read (events lost):
// every watched file is a change, and what was made meanwhile is watched
// from then on (a package whose making was among the lost events).
BOOST_AUTO_TEST_CASE(an_overflow_watches_everything_anew) {
  testing::TempDir dir;
  const fs::path root(dir.path());
  fs::create_directories(root / "mods");
  Watched w(reload::WatchSpec::files((root / "mods").string(), ".py",
                                     [](const std::string& name) { return name[0] != '.'; }));
  long queue = 16384;
  std::ifstream("/proc/sys/fs/inotify/max_queued_events") >> queue;
  // Appends to two files in turn (a rewrite would wait for the disk; one
  // file's events in a row would be merged into one).
  const int files[] = {
      ::open((root / "mods" / "a.py").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644),
      ::open((root / "mods" / "b.py").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644)};
  for (long i = 0; i <= queue; ++i) BOOST_REQUIRE(::write(files[i % 2], "#", 1) == 1);
  for (int fd : files) ::close(fd);
  fs::create_directories(root / "mods" / "pkg");  // past the queue's end: not seen
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool overflowed = false;
  while (!overflowed && std::chrono::steady_clock::now() < deadline && w.report()) {
    overflowed = w.reports.back().find("*.py") != std::string::npos;
  }
  BOOST_REQUIRE(overflowed);
  dir.write("mods/pkg/m.py", "x = 1\n");
  BOOST_REQUIRE(w.report());
  BOOST_TEST(w.reports.back() == "pkg/m.py");
}
