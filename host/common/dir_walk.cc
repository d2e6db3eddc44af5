#include "common/dir_walk.h"

#include <sys/stat.h>

#include <set>
#include <utility>

namespace streams {
namespace {

namespace fs = std::filesystem;

// Whether the directory at `path` (links followed) was not seen before;
// one that cannot be read counts as seen.
bool first_visit(const fs::path& path, std::set<std::pair<dev_t, ino_t>>* seen) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  return seen->emplace(st.st_dev, st.st_ino).second;
}

}  // namespace

bool walk_tree(const fs::path& root,
               const std::function<WalkNext(const fs::directory_entry&)>& visit) {
  std::set<std::pair<dev_t, ino_t>> seen;
  if (!first_visit(root, &seen)) return true;
  std::error_code ec;
  const auto options = fs::directory_options::skip_permission_denied |
                       fs::directory_options::follow_directory_symlink;
  for (auto it = fs::recursive_directory_iterator(root, options, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code entry_ec;  // a broken link: not a directory
    const bool directory = it->is_directory(entry_ec);
    if (directory && !first_visit(it->path(), &seen)) {
      it.disable_recursion_pending();
      continue;
    }
    const WalkNext next = visit(*it);
    if (next == WalkNext::stop) return false;
    if (directory && next == WalkNext::over) it.disable_recursion_pending();
  }
  return true;
}

}  // namespace streams
