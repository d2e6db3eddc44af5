// A walk of a directory tree for the control plane (a reload's code hash,
// the file watcher): symbolic links to directories are followed, as
// Python's imports follow them, each directory (by device and inode) once,
// so a link back up ends and two links to one directory walk it once.
//
// Thread: any; it holds nothing between calls.
#pragma once

#include <filesystem>
#include <functional>

namespace streams {

enum class WalkNext { into, over, stop };

// Calls `visit` for each entry below `root` (not `root` itself), a
// directory before what is below it. For a directory, `visit` says whether
// the walk goes into it (`over`: not); for a file, `over` and `into` are
// alike; `stop` ends the walk. A directory reached again (through a link)
// is not visited again; entries that cannot be read are skipped. Returns
// false if `visit` stopped it.
bool walk_tree(const std::filesystem::path& root,
               const std::function<WalkNext(const std::filesystem::directory_entry&)>& visit);

}  // namespace streams
