#include "plugin/plugin_registry.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "common/edit_distance.h"
#include "plugin/host_paths.h"

namespace streams::plugin {
namespace {

bool plain_name(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// realpath(3) as a string; empty with errno set when it fails.
std::string resolved(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) ? std::string(buf) : std::string();
}

std::string parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Empty unless group or others may write `path`, else the reason.
std::string writable_by_others(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return path + ": " + std::strerror(errno);
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) == 0) return "";
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return path + " is writable by group or others (mode " + mode +
         "): whoever can write it runs code in this host; run chmod go-w " + path +
         ", or pass --allow-writable-plugins";
}

// The plugins in `dir` by name (NAME.so, libNAME.so), for "did you mean".
std::vector<std::string> plugin_names(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() <= 3 || name.compare(name.size() - 3, 3, ".so") != 0) continue;
    name.resize(name.size() - 3);
    if (name.rfind("lib", 0) == 0) name.erase(0, 3);
    names.push_back(std::move(name));
  }
  return names;
}

}  // namespace

std::string PluginRegistry::default_bundled_dir() {
  const std::string exe = executable_dir();
  std::error_code ec;
  for (const std::string& dir : {exe + "/../lib/streams/plugins", exe + "/../plugins"}) {
    if (std::filesystem::is_directory(dir, ec)) return resolved(dir);
  }
  return "";
}

std::string PluginRegistry::find_in(const std::string& dir, const std::string& name) {
  for (const std::string& path : {dir + "/" + name + ".so", dir + "/lib" + name + ".so"}) {
    if (::access(path.c_str(), F_OK) == 0) return path;
  }
  return "";
}

std::string PluginRegistry::refusal(const std::string& path, const std::string& dir) const {
  const std::string real = resolved(path);
  const std::string real_dir = resolved(dir);
  if (real.empty() || real_dir.empty()) return path + ": " + std::strerror(errno);
  if (!policy_.allow_outside_dir && real.compare(0, real_dir.size() + 1, real_dir + "/") != 0) {
    return path + " resolves to " + real + ", outside the plugins directory " + real_dir +
           "; move the file into it, or pass --allow-plugins-outside-dir";
  }
  if (policy_.allow_writable) return "";
  for (const std::string& p : {real, parent(real), real_dir}) {
    std::string why = writable_by_others(p);
    if (!why.empty()) return why;
  }
  return "";
}

std::shared_ptr<PluginLibrary> PluginRegistry::get(const std::string& name, std::string* error) {
  if (!plain_name(name)) {
    *error = "plugin name '" + name +
             "' is not a plain name (letters, digits, '_', '-' and '.', not starting with "
             "'.'): plugins are looked up in the plugins directory " +
             dir_ + " only";
    return nullptr;
  }
  const bool bundled = !bundled_dir_.empty() && resolved(dir_) != bundled_dir_;
  std::string found_in = dir_;
  std::string found = find_in(dir_, name);
  if (found.empty() && bundled) found = find_in(found_in = bundled_dir_, name);
  if (found.empty()) {
    std::vector<std::string> names = plugin_names(dir_);
    if (bundled) {
      for (std::string& n : plugin_names(bundled_dir_)) names.push_back(std::move(n));
    }
    *error = "plugin '" + name + "' not found: no " + dir_ + "/" + name + ".so or " + dir_ +
             "/lib" + name + ".so" +
             (bundled ? " (nor among the host's own plugins in " + bundled_dir_ + ")" : "") +
             did_you_mean(name, names);
    return nullptr;
  }
  if (std::string why = refusal(found, found_in); !why.empty()) {
    *error = "plugin '" + name + "' refused: " + why;
    return nullptr;
  }
  FileIdentity now;
  auto& slot = loaded_[name];
  if (auto known = slot.lock()) {
    // The same file, or one with the same bytes (copied over again): the
    // plugin loaded before.
    if (known->path() == found && identify(found, &now) &&
        (now == known->identity() || content_hash(found) == known->content_hash())) {
      return known;
    }
  }
  auto library = PluginLibrary::load(found, error);
  if (!library) return nullptr;
  if (library->name() != name) {
    *error =
        found + ": the file is plugin '" + std::string(library->name()) + "', not '" + name + "'";
    return nullptr;
  }
  slot = library;
  return library;
}

}  // namespace streams::plugin
