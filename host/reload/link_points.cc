#include "reload/link_points.h"

#include <sys/stat.h>

#include <deque>
#include <filesystem>
#include <system_error>

namespace streams::reload {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxLinks = 40;

// Puts the components of `path` before those still to resolve (*rest).
void push_front(const fs::path& path, std::deque<std::string>* rest) {
  std::deque<std::string> parts;
  for (const fs::path& part : path.relative_path()) parts.push_back(part.string());
  rest->insert(rest->begin(), parts.begin(), parts.end());
}

}  // namespace

LinkPoints link_points(const std::string& path) {
  LinkPoints out;
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  std::deque<std::string> rest;
  push_front(ec ? fs::path(path) : absolute, &rest);
  fs::path resolved = "/";
  bool missing = false;
  while (!rest.empty()) {
    const std::string part = rest.front();
    rest.pop_front();
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      resolved = resolved.parent_path();
      continue;
    }
    const fs::path next = resolved / part;
    struct stat st;
    if (!missing && ::lstat(next.c_str(), &st) != 0) missing = true;  // the rest as given
    if (!missing && S_ISLNK(st.st_mode) && out.links.size() < static_cast<size_t>(kMaxLinks)) {
      const fs::path target = fs::read_symlink(next, ec);
      if (!ec) {
        out.links.push_back({resolved.string(), part});
        if (target.is_absolute()) resolved = "/";
        push_front(target, &rest);
        continue;
      }
    }
    resolved = next;
  }
  out.target = {resolved.parent_path().string(), resolved.filename().string()};
  return out;
}

}  // namespace streams::reload
