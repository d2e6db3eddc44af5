#include "reload/file_watcher.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "common/dir_walk.h"
#include "common/log.h"
#include "reload/link_points.h"

namespace streams::reload {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

// A write in progress (modify), its end (close_write), a file renamed or
// copied over (moved_to, create) and removed (delete, moved_from).
constexpr uint32_t kEvents =
    IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM;
// And a watched directory itself moved away (its watch would follow it);
// one removed ends its watch (IN_IGNORED, always sent). Either way a new
// directory made in its place must be watched instead.
constexpr uint32_t kDirEvents = kEvents | IN_MOVE_SELF;

// "a/b/plugins/" -> {"a/b", "plugins"}; "plugins" -> {".", "plugins"}.
std::pair<std::string, std::string> split(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const size_t slash = dir.rfind('/');
  if (slash == std::string::npos) return {".", dir};
  return {slash == 0 ? "/" : dir.substr(0, slash), dir.substr(slash + 1)};
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Of a spec by suffix: not a hidden file (an editor's lock, `.#mod.py`).
bool watched_name(const std::string& name, const std::string& suffix) {
  return name[0] != '.' && ends_with(name, suffix);
}

// Whether `spec` watches a file called `name` (in a directory it watches).
bool takes(const WatchSpec& spec, const std::string& name) {
  return spec.name.empty() ? watched_name(name, spec.suffix) : name == spec.name;
}

class Watcher final : public FileWatcher {
 public:
  Watcher(asio::io_context& io, int fd, std::chrono::milliseconds quiet,
          std::function<void(const std::string&)> on_change)
      : stream_(io, fd), timer_(io), quiet_(quiet), on_change_(std::move(on_change)) {}
  ~Watcher() override {
    boost::system::error_code ignored;
    stream_.close(ignored);  // also closes the inotify fd, and every watch with it
  }

  bool add(const WatchSpec& spec, std::string* error) {
    roots_.push_back(spec);
    if (watch_root(&roots_.back(), error) == Outcome::failed) return false;
    route(&roots_.back());
    return true;
  }

  void read() {
    stream_.async_read_some(asio::buffer(buf_), [this](boost::system::error_code ec, size_t n) {
      if (ec) return;  // closed
      events(buf_, n);
      read();
    });
  }

  std::string take_pending() override {
    // What the kernel holds and the pending read has not taken (the fd is
    // non-blocking; that read then finds what comes later).
    alignas(inotify_event) char buf[sizeof buf_];
    for (ssize_t n; (n = ::read(stream_.native_handle(), buf, sizeof buf)) > 0;) {
      events(buf, static_cast<size_t>(n));
    }
    return pending();
  }

  void report_changed_since(std::chrono::system_clock::time_point since,
                            const std::function<bool(const WatchSpec&)>& of) override {
    const auto since_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(since.time_since_epoch()).count();
    for (const auto& [wd, w] : watches_) {
      if (!of(*w.spec)) continue;
      std::error_code ec;
      for (auto it = fs::directory_iterator(w.dir, ec); !ec && it != fs::directory_iterator();
           it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!takes(*w.spec, name) || changed_ns(it->path()) < since_ns) continue;
        changed_.insert(w.prefix + name);
        arm();
      }
    }
  }

 private:
  // A directory watched for a spec: its own, or one below it (`prefix`,
  // "pkg/sub/", comes before the names reported from there).
  struct Watch {
    const WatchSpec* spec;
    std::string dir;
    std::string prefix;
    bool holds = false;  // below: a file of the spec's was seen in it
  };
  // A spec's directory not made yet, watched for in its parent.
  struct Awaited {
    std::string name;  // in the parent's directory
    const WatchSpec* spec;
  };
  // Where links route a watched path (link_points.h), by the watch of the
  // directory `name` is in: a link on the way to a spec's path (pointed
  // elsewhere, the spec is watched anew), the file a linked file resolves
  // to (its change is the change of `report`, the name the file is
  // reported by), or a link on the way there (the file is routed anew).
  struct Route {
    enum Kind { way, file, file_way };
    const WatchSpec* spec;
    std::string name;
    Kind kind;
    std::string report;  // file, file_way: the linked file's name
    std::string path;    // file, file_way of a spec's file by suffix: the link's path
  };
  enum class Outcome { watched, awaited, failed };

  // A directory not made yet (a plugins directory before its first
  // plugin) is watched for in its parent, then watched once it appears.
  Outcome watch_root(const WatchSpec* spec, std::string* error) {
    if (const int wd = add_watch(spec->dir); wd >= 0) {
      record(wd, {spec, spec->dir, ""});
      if (spec->name.empty()) route_files(spec, spec->dir, "");
      if (spec->descend) watch_below(spec, spec->dir, "");
      return Outcome::watched;
    }
    if (errno == ENOENT) {
      const auto [parent, name] = split(spec->dir);
      if (const int parent_wd = add_watch(parent); parent_wd >= 0) {
        awaited_.emplace(parent_wd, Awaited{name, spec});
        return Outcome::awaited;
      }
    }
    *error = "cannot watch " + spec->dir + ": " + std::strerror(errno);
    return Outcome::failed;
  }

  // Watches the subdirectories of `dir` the spec descends into (through
  // links too, each once). True if one holds a file of the spec's.
  bool watch_below(const WatchSpec* spec, const std::string& dir, const std::string& prefix) {
    bool holds = false;
    walk_tree(dir, [&](const fs::directory_entry& e) {
      std::error_code ec;  // a broken link: not a directory, the walk goes on
      if (!e.is_directory(ec)) return WalkNext::into;
      if (!spec->descend(e.path().filename().string())) return WalkNext::over;
      const std::string rel = e.path().lexically_relative(dir).string();
      return watch_one(spec, e.path().string(), prefix + rel + "/", &holds) ? WalkNext::into
                                                                            : WalkNext::stop;
    });
    return holds;
  }

  // Watches `dir`, below a spec's (`prefix` names it from there), unless
  // kMaxBelow are (false, said once). *holds |= whether it holds a file of
  // the spec's.
  bool watch_one(const WatchSpec* spec, const std::string& dir, const std::string& prefix,
                 bool* holds) {
    if (below_ >= kMaxBelow) {
      if (!warned_full_) {
        log::warn("file watch: more than " + std::to_string(kMaxBelow) + " directories under " +
                  spec->dir + ": changes in the others are not seen");
      }
      warned_full_ = true;
      return false;
    }
    if (const int wd = add_watch(dir); wd >= 0) {
      const bool here = route_files(spec, dir, prefix);
      record(wd, {spec, dir, prefix, here});
      *holds |= here;
    }
    return true;
  }

  // Routes the files of a spec by suffix in `dir` that are links. True if
  // it holds a file of the spec's.
  bool route_files(const WatchSpec* spec, const std::string& dir, const std::string& prefix) {
    bool holds = false;
    std::error_code ec;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!watched_name(name, spec->suffix)) continue;
      holds = true;
      if (std::error_code link_ec; it->is_symlink(link_ec)) {
        route_file(spec, it->path().string(), prefix + name);
      }
    }
    return holds;
  }

  int add_watch(const std::string& dir) {
    return inotify_add_watch(stream_.native_handle(), dir.c_str(), kDirEvents);
  }

  // One Watch per spec and directory: a directory moved within the tree
  // keeps its watch descriptor, and its new path replaces the old; the
  // spec's own directory stays itself (a symlink below it back to it).
  void record(int wd, Watch w) {
    for (auto [it, end] = watches_.equal_range(wd); it != end; ++it) {
      if (it->second.spec == w.spec) {
        if (!it->second.prefix.empty() || w.prefix.empty()) it->second = std::move(w);
        return;
      }
    }
    if (!w.prefix.empty()) ++below_;
    watches_.emplace(wd, std::move(w));
  }

  void events(const char* buf, size_t n) {
    for (size_t at = 0; at + sizeof(inotify_event) <= n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buf + at);
      event(*e);
      at += sizeof(inotify_event) + e->len;
    }
  }

  // When the file at `path` (links followed) was last written or moved
  // (its status changed), in ns since the epoch; 0 if it cannot be read.
  static int64_t changed_ns(const fs::path& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return 0;
    const auto ns = [](const timespec& t) { return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec; };
    return std::max(ns(st.st_mtim), ns(st.st_ctim));
  }

  std::string pending() {
    std::string names;
    for (const auto& n : changed_) names += (names.empty() ? "" : ", ") + n;
    changed_.clear();
    return names;
  }

  void event(const inotify_event& e) {
    if (e.mask & IN_Q_OVERFLOW) {
      lost();
    } else if (e.mask & IN_MOVE_SELF) {
      // Its watch would follow it to where it went; removing the watch
      // brings IN_IGNORED, where the path is watched again.
      inotify_rm_watch(stream_.native_handle(), e.wd);
    } else if (e.mask & IN_IGNORED) {
      gone(e.wd);
    } else if (e.len > 0) {
      matched(e.wd, e.name, e.mask);
    }
  }

  void matched(int wd, const std::string& name, uint32_t mask) {
    appeared(wd, name);
    routed(wd, name);
    auto [begin, end] = watches_.equal_range(wd);
    // Kubernetes updates a mounted ConfigMap by renaming a new symlink
    // `..data` over the old: each file of the directory, a symlink through
    // it, changed at once.
    if (name == "..data" && begin != end) {
      for (auto it = begin; it != end; ++it)
        changed_.insert(it->second.spec->name.empty() ? name : it->second.spec->name);
      arm();
      return;
    }
    std::vector<Watch> dirs;  // watch_below would invalidate the range
    std::vector<std::tuple<std::string, std::string, const WatchSpec*>> relinked;  // route_file too
    for (auto it = begin; it != end; ++it) {
      Watch& w = it->second;
      const WatchSpec& s = *w.spec;
      if (mask & IN_ISDIR) {
        if (s.descend && s.descend(name)) dirs.push_back(w);
      } else if (s.descend && s.descend(name) && linked_dir(w, name, mask)) {
        dirs.push_back(w);
      } else if (takes(s, name)) {
        w.holds = true;
        changed_.insert(w.prefix + name);
        arm();
        if (s.name.empty() && (mask & (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM))) {
          relinked.emplace_back(w.dir + "/" + name, w.prefix + name, &s);
        }
      }
    }
    for (const Watch& w : dirs) moved(w, name, mask);
    for (const auto& [path, report, spec] : relinked) route_file(spec, path, report);
  }

  // Whether `name` in `in`'s directory is a link to a directory: made or
  // moved in, or one watched through until it was removed or moved out.
  bool linked_dir(const Watch& in, const std::string& name, uint32_t mask) const {
    const std::string path = in.dir + "/" + name;
    std::error_code ec;
    if (mask & (IN_CREATE | IN_MOVED_TO))
      return fs::is_symlink(fs::symlink_status(path, ec)) && fs::is_directory(path, ec);
    for (const auto& [wd, w] : watches_) {
      if (w.spec == in.spec && w.dir == path) return true;
    }
    return false;
  }

  // Directory `name` of `in` made or moved in (watched, with what is below
  // it) or moved out: a change when it holds files of the spec's. One
  // removed is not: its files' removals were; but a link to one removed is.
  void moved(const Watch& in, const std::string& name, uint32_t mask) {
    const std::string dir = in.dir + "/" + name, prefix = in.prefix + name + "/";
    bool holds = false;
    if (mask & (IN_CREATE | IN_MOVED_TO)) {
      if (watch_one(in.spec, dir, prefix, &holds)) holds |= watch_below(in.spec, dir, prefix);
    } else if ((mask & IN_MOVED_FROM) || (mask & (IN_DELETE | IN_ISDIR)) == IN_DELETE) {
      holds = forget(in.spec, dir);
    }
    if (!holds) return;
    changed_.insert(prefix);
    arm();
  }

  // Stops watching `dir` and what is below it for `spec` (their watches
  // follow them out of the tree); true if one held a file of the spec's.
  bool forget(const WatchSpec* spec, const std::string& dir) {
    unroute([&](const Route& r) { return r.spec == spec && r.path.rfind(dir + "/", 0) == 0; });
    bool held = false;
    std::vector<int> ended;
    for (auto it = watches_.begin(); it != watches_.end();) {
      const Watch& w = it->second;
      if (w.spec != spec || w.prefix.empty() || (w.dir + "/").rfind(dir + "/", 0) != 0) {
        ++it;
        continue;
      }
      held |= w.holds;
      ended.push_back(it->first);
      --below_;
      it = watches_.erase(it);
    }
    for (int wd : ended) release(wd);
    return held;
  }

  // Watches where links route `spec`'s path: the links on its way, and for
  // a file spec reached through links, the file it resolves to.
  void route(const WatchSpec* spec) {
    const LinkPoints points =
        link_points(spec->name.empty() ? spec->dir : spec->dir + "/" + spec->name);
    for (const PathPoint& link : points.links) add_route(link, {spec, "", Route::way, "", ""});
    if (!spec->name.empty() && !points.links.empty()) {
      add_route(points.target, {spec, "", Route::file, spec->name, ""});
    }
  }

  // A file of a spec by suffix at `path`, reported as `report`: watched
  // where it lives when it is a link (`plugins/x.so -> ../build/x.so`),
  // instead of where it led before.
  void route_file(const WatchSpec* spec, const std::string& path, const std::string& report) {
    unroute([&](const Route& r) { return r.spec == spec && r.path == path; });
    std::error_code ec;
    if (!fs::is_symlink(fs::symlink_status(path, ec))) return;
    const LinkPoints points = link_points(path);
    for (const PathPoint& link : points.links) {
      add_route(link, {spec, "", Route::file_way, report, path});
    }
    add_route(points.target, {spec, "", Route::file, report, path});
  }

  void add_route(const PathPoint& at, Route route) {
    // One that cannot be watched (a directory not readable) is not.
    route.name = at.name;
    if (const int wd = add_watch(at.dir); wd >= 0) routes_.emplace(wd, std::move(route));
  }

  template <class Pred>
  void unroute(Pred pred) {
    std::vector<int> ended;
    for (auto it = routes_.begin(); it != routes_.end();) {
      if (!pred(it->second)) {
        ++it;
        continue;
      }
      ended.push_back(it->first);
      it = routes_.erase(it);
    }
    for (int wd : ended) release(wd);
  }

  // `name` changed in the directory of `wd`: a linked file's change, or a
  // link on the way to a spec's path (watched anew).
  void routed(int wd, const std::string& name) {
    std::vector<Route> relinked;  // rewatch and route_file change routes_
    for (auto [it, end] = routes_.equal_range(wd); it != end; ++it) {
      const Route& r = it->second;
      if (r.name != name) continue;
      if (r.kind != Route::way) {
        changed_.insert(r.report);
        arm();
      }
      if (r.kind != Route::file) relinked.push_back(r);
    }
    for (const Route& r : relinked) {
      if (r.kind == Route::way) {
        rewatch(r.spec);
      } else {
        route_file(r.spec, r.path, r.report);
      }
    }
  }

  // An awaited directory `name` appeared in the directory of `wd`: watched
  // from now on, and a change (it may have come with its files).
  void appeared(int wd, const std::string& name) {
    std::vector<const WatchSpec*> specs;
    for (auto [it, end] = awaited_.equal_range(wd); it != end;) {
      if (it->second.name != name) {
        ++it;
        continue;
      }
      specs.push_back(it->second.spec);
      it = awaited_.erase(it);
    }
    for (const WatchSpec* spec : specs) rewatch(spec);
  }

  // The watch `wd` ended (its directory removed, or moved away above): a
  // spec's directory is watched again at its path (a change if a directory
  // is there already, one moved into its place; else awaited); one below
  // it again if there is one there.
  void gone(int wd) {
    std::vector<Watch> ended;
    for (auto [it, end] = watches_.equal_range(wd); it != end; it = watches_.erase(it)) {
      if (!it->second.prefix.empty()) --below_;
      ended.push_back(std::move(it->second));
    }
    for (auto [it, end] = awaited_.equal_range(wd); it != end; it = awaited_.erase(it))
      ended.push_back({it->second.spec, it->second.spec->dir, ""});
    for (auto [it, end] = routes_.equal_range(wd); it != end; it = routes_.erase(it))
      ended.push_back({it->second.spec, it->second.spec->dir, ""});  // a way there went
    for (const Watch& w : ended) {
      if (w.prefix.empty()) {
        rewatch(w.spec);  // the watches below, had it moved away, would follow it: dropped
      } else if (std::error_code ec; fs::is_directory(w.dir, ec)) {
        bool holds = false;  // a change was seen where it was made or moved
        if (watch_one(w.spec, w.dir, w.prefix, &holds)) watch_below(w.spec, w.dir, w.prefix);
      }
    }
  }

  // Watches a spec anew, at its path and where links route it: a change
  // when it is there.
  void rewatch(const WatchSpec* spec) {
    drop(spec);
    std::string error;
    const Outcome outcome = watch_root(spec, &error);
    route(spec);
    switch (outcome) {
      case Outcome::watched:
        changed_.insert(spec->name.empty() ? split(spec->dir).second : spec->name);
        arm();
        break;
      case Outcome::awaited:
        break;
      case Outcome::failed:
        log::warn("file watch: " + error + ": its changes are no longer seen");
        break;
    }
  }

  // Ends every watch made for `spec`.
  void drop(const WatchSpec* spec) {
    std::vector<int> ended;
    const auto erase = [&](auto& map, auto&& also) {
      for (auto it = map.begin(); it != map.end();) {
        if (it->second.spec != spec) {
          ++it;
          continue;
        }
        also(it->second);
        ended.push_back(it->first);
        it = map.erase(it);
      }
    };
    erase(watches_, [this](const Watch& w) { below_ -= w.prefix.empty() ? 0 : 1; });
    erase(awaited_, [](const Awaited&) {});
    erase(routes_, [](const Route&) {});
    for (int wd : ended) release(wd);
  }

  // Removes watch `wd` unless something is watched through it.
  void release(int wd) {
    if (watches_.count(wd) == 0 && awaited_.count(wd) == 0 && routes_.count(wd) == 0) {
      inotify_rm_watch(stream_.native_handle(), wd);
    }
  }

  // The kernel's queue overflowed: any watched file may have changed.
  // So may a directory made below a tree, or a link on the way: each spec
  // is watched anew.
  void lost() {
    for (WatchSpec& spec : roots_) {
      changed_.insert(spec.name.empty() ? "*" + spec.suffix : spec.name);
      rewatch(&spec);
    }
    arm();
  }

  void arm() {
    timer_.expires_after(quiet_);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || changed_.empty()) return;  // re-armed by a later change, or closed
      on_change_(pending());
    });
  }

  static constexpr size_t kMaxBelow = 1000;

  asio::posix::stream_descriptor stream_;
  asio::steady_timer timer_;
  std::chrono::milliseconds quiet_;
  std::function<void(const std::string&)> on_change_;
  std::deque<WatchSpec> roots_;          // as given; stable addresses
  std::multimap<int, Watch> watches_;    // by watch descriptor
  std::multimap<int, Awaited> awaited_;  // by the parent's watch descriptor
  std::multimap<int, Route> routes_;     // by the watch of the link's (or file's) directory
  size_t below_ = 0;                     // watches_ of directories below a spec's
  bool warned_full_ = false;
  std::set<std::string> changed_;
  alignas(inotify_event) char buf_[16 * 1024];
};

}  // namespace

WatchSpec WatchSpec::file(const std::string& path) {
  auto [dir, name] = split(path);
  return {std::move(dir), std::move(name), "", nullptr};
}

WatchSpec WatchSpec::files(std::string dir, std::string suffix,
                           std::function<bool(const std::string& name)> descend) {
  return {std::move(dir), "", std::move(suffix), std::move(descend)};
}

std::string WatchSpec::describe() const {
  const std::string in = dir == "." ? "" : (dir.back() == '/' ? dir : dir + "/");
  if (!name.empty()) return in + name;
  return in + (descend ? "**/*" : "*") + suffix;
}

std::unique_ptr<FileWatcher> FileWatcher::start(asio::io_context& io,
                                                const std::vector<WatchSpec>& specs,
                                                std::chrono::milliseconds quiet,
                                                std::function<void(const std::string&)> on_change,
                                                std::string* error) {
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    *error = std::string("inotify: ") + std::strerror(errno);
    return nullptr;
  }
  auto watcher = std::make_unique<Watcher>(io, fd, quiet, std::move(on_change));
  for (const WatchSpec& spec : specs) {
    if (!watcher->add(spec, error)) return nullptr;
  }
  watcher->read();
  return watcher;
}

}  // namespace streams::reload
