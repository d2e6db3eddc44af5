#include "reload/file_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "common/log.h"

namespace streams::reload {
namespace {

namespace asio = boost::asio;

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

class Watcher final : public FileWatcher {
 public:
  Watcher(asio::io_context& io, int fd, std::chrono::milliseconds quiet,
          std::function<void(const std::string&)> on_change)
      : stream_(io, fd), timer_(io), quiet_(quiet), on_change_(std::move(on_change)) {}
  ~Watcher() override {
    boost::system::error_code ignored;
    stream_.close(ignored);  // also closes the inotify fd, and every watch with it
  }

  // A directory not made yet (a plugins directory before its first
  // plugin) is watched for in its parent, then watched once it appears.
  bool add(const WatchSpec& spec, std::string* error) {
    const int wd = inotify_add_watch(stream_.native_handle(), spec.dir.c_str(), kDirEvents);
    if (wd >= 0) {
      specs_.emplace(wd, spec);
      return true;
    }
    if (errno == ENOENT) {
      const auto [parent, name] = split(spec.dir);
      if (const int parent_wd =
              inotify_add_watch(stream_.native_handle(), parent.c_str(), kDirEvents);
          parent_wd >= 0) {
        awaited_.emplace(parent_wd, Awaited{name, spec});
        return true;
      }
    }
    *error = "cannot watch " + spec.dir + ": " + std::strerror(errno);
    return false;
  }

  void read() {
    stream_.async_read_some(asio::buffer(buf_), [this](boost::system::error_code ec, size_t n) {
      if (ec) return;  // closed
      for (size_t at = 0; at + sizeof(inotify_event) <= n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(buf_ + at);
        event(*e);
        at += sizeof(inotify_event) + e->len;
      }
      read();
    });
  }

 private:
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
      matched(e.wd, e.name);
    }
  }

  void matched(int wd, const std::string& name) {
    appeared(wd, name);
    auto [begin, end] = specs_.equal_range(wd);
    // Kubernetes updates a mounted ConfigMap by renaming a new symlink
    // `..data` over the old: each file of the directory, a symlink through
    // it, changed at once.
    if (name == "..data" && begin != end) {
      for (auto it = begin; it != end; ++it)
        changed_.insert(it->second.name.empty() ? name : it->second.name);
      arm();
      return;
    }
    for (auto it = begin; it != end; ++it) {
      const WatchSpec& s = it->second;
      if (s.name.empty() ? ends_with(name, s.suffix) : name == s.name) {
        changed_.insert(name);
        arm();
        return;
      }
    }
  }

  // An awaited directory `name` appeared in the directory of `wd`: watched
  // from now on, and a change (it may have come with its files).
  void appeared(int wd, const std::string& name) {
    auto [begin, end] = awaited_.equal_range(wd);
    for (auto it = begin; it != end;) {
      const WatchSpec& spec = it->second.spec;
      const int dir_wd = it->second.name == name ? inotify_add_watch(stream_.native_handle(),
                                                                     spec.dir.c_str(), kDirEvents)
                                                 : -1;
      if (dir_wd < 0) {
        ++it;
        continue;
      }
      specs_.emplace(dir_wd, spec);
      changed_.insert(name);
      arm();
      it = awaited_.erase(it);
    }
  }

  // The watch `wd` ended (its directory removed, or moved away above):
  // what was watched there is watched again at its path, a change if a
  // directory is there already (one moved into its place), else awaited.
  void gone(int wd) {
    std::vector<WatchSpec> lost_specs;
    for (auto [it, end] = specs_.equal_range(wd); it != end; it = specs_.erase(it))
      lost_specs.push_back(it->second);
    for (auto [it, end] = awaited_.equal_range(wd); it != end; it = awaited_.erase(it))
      lost_specs.push_back(it->second.spec);
    for (const WatchSpec& spec : lost_specs) {
      std::string error;
      const size_t watched = specs_.size();
      if (!add(spec, &error)) {
        log::warn("file watch: " + error + ": its changes are no longer seen");
        continue;
      }
      if (specs_.size() > watched) {
        changed_.insert(split(spec.dir).second);
        arm();
      }
    }
  }

  // The kernel's queue overflowed: any watched file may have changed.
  void lost() {
    for (const auto& [wd, spec] : specs_)
      changed_.insert(spec.name.empty() ? "*" + spec.suffix : spec.name);
    arm();
  }

  void arm() {
    timer_.expires_after(quiet_);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || changed_.empty()) return;  // re-armed by a later change, or closed
      std::string names;
      for (const auto& n : changed_) names += (names.empty() ? "" : ", ") + n;
      changed_.clear();
      on_change_(names);
    });
  }

  asio::posix::stream_descriptor stream_;
  asio::steady_timer timer_;
  std::chrono::milliseconds quiet_;
  std::function<void(const std::string&)> on_change_;
  std::multimap<int, WatchSpec> specs_;  // by watch descriptor (a directory)
  struct Awaited {
    std::string name;  // in the parent's directory
    WatchSpec spec;
  };
  std::multimap<int, Awaited> awaited_;  // by the parent's watch descriptor
  std::set<std::string> changed_;
  alignas(inotify_event) char buf_[16 * 1024];
};

}  // namespace

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
