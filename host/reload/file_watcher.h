// Watches files for changes with inotify (control plane) and reports them
// once quiet: a write in progress or a burst of changes makes one report.
// A mounted Kubernetes ConfigMap's update (its `..data` symlink renamed
// over) is a change of every watched file of that directory. A watched
// directory that does not exist yet is watched once made in its parent
// (which must exist); its making is a change. So is one moved or made in
// place of a watched directory (`mv plugins.new plugins`, `rm -r` and a
// copy), which is watched from then on. Events lost to a full kernel
// queue are a change of every watched file. A directory made, moved in or
// out below a watched tree is a change when it holds watched files.
//
// Thread: everything runs on the io_context's thread, `on_change` too.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace streams::reload {

struct WatchSpec {
  std::string dir;
  std::string name;    // a file in `dir`, or empty: every file ending in `suffix`
  std::string suffix;  // with an empty `name` (hidden files not)
  // With `suffix`: the subdirectories (at any depth, through symbolic
  // links too, each once) whose names it takes are watched too, those made
  // or linked later as they are (at most 1,000 in all);
  // null: `dir` alone. Their files are reported as "pkg/mod.py".
  std::function<bool(const std::string& name)> descend;

  // A file, by its path ("p.yaml" is in ".").
  static WatchSpec file(const std::string& path);
  // Every file of `dir` ending in `suffix`, and below it as `descend` says.
  static WatchSpec files(std::string dir, std::string suffix,
                         std::function<bool(const std::string& name)> descend = nullptr);
  // For the log: "p.yaml", "plugins/*.so", "lib/**/*.py".
  std::string describe() const;
};

class FileWatcher {
 public:
  // `on_change` gets the changed names ("pipeline.yaml, stamp.so") once no
  // watched file changed for `quiet`. Null with *error if inotify fails.
  static std::unique_ptr<FileWatcher> start(boost::asio::io_context& io,
                                            const std::vector<WatchSpec>& specs,
                                            std::chrono::milliseconds quiet,
                                            std::function<void(const std::string&)> on_change,
                                            std::string* error);
  virtual ~FileWatcher() = default;
  // The names changed and not yet reported, which will not be ("" if
  // none), those the kernel holds for this watcher unread included: for a
  // watcher that takes this one's place.
  virtual std::string take_pending() = 0;
  // Reports, as changes seen now, the watched files of the specs `of`
  // takes that were written or moved into place at or after `since`: for
  // files watched from now on that a reload read before (a change between
  // its read and now came before their watch).
  virtual void report_changed_since(std::chrono::system_clock::time_point since,
                                    const std::function<bool(const WatchSpec&)>& of) = 0;
};

}  // namespace streams::reload
