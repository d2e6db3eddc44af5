// Where symbolic links route a path (control plane, for the file watcher):
// a file or directory reached through links changes when a link on its way
// is pointed elsewhere (a deploy that flips `current -> releases/N`), and a
// linked file's content changes where its target lives. inotify watches
// what a path resolves to when the watch is made, so the watcher watches
// these places too.
//
// Thread: any.
#pragma once

#include <string>
#include <vector>

namespace streams::reload {

// A name in a directory (the directory's path resolved, links and all).
struct PathPoint {
  std::string dir;
  std::string name;
  bool operator==(const PathPoint& o) const { return dir == o.dir && name == o.name; }
};

struct LinkPoints {
  // Each link met resolving the path, as the kernel resolves it, in order.
  std::vector<PathPoint> links;
  // What the path resolves to; when a part of it does not exist, the path
  // as far as it resolved and the rest as given.
  PathPoint target;
};

// At most 40 links are followed (the kernel's limit); a relative `path` is
// resolved from the working directory.
LinkPoints link_points(const std::string& path);

}  // namespace streams::reload
