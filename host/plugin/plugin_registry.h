// The function providers of the control plane (single thread): plugin files
// in the plugins directory, loaded here, and Python functions (python()).
//
// A registry may outlive many generations (the reload controller keeps one):
// it remembers what it loaded without keeping it alive, so a plugin is
// loaded once while some generation uses it and its file is unchanged, and
// anew once the file is replaced or rewritten.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "plugin/plugin_library.h"
#include "plugin/python_provider.h"

namespace streams::plugin {

// Where plugin code may come from. By default a plugin file must resolve
// (symlinks followed) inside the plugins directory, and neither it, its
// directory nor the plugins directory may be writable by group or others:
// whoever can write there runs code in the host.
struct PluginPolicy {
  bool allow_outside_dir = false;
  bool allow_writable = false;
};

class PluginRegistry {
 public:
  explicit PluginRegistry(std::string plugins_dir, PluginPolicy policy = {})
      : dir_(std::move(plugins_dir)), policy_(policy) {}

  // The plugin called `name` (a plain name: letters, digits, '_', '-', '.',
  // not starting with '.'): <dir>/<name>.so, else <dir>/lib<name>.so, if the
  // policy allows it. The library loaded before is returned while one is
  // still held and its file is the same (FileIdentity) or has the same
  // bytes. On failure returns nullptr with *error (the path, what is wrong
  // and the fix).
  std::shared_ptr<PluginLibrary> get(const std::string& name, std::string* error);

  // Functions written in Python (`python:` steps).
  PythonProvider& python() { return python_; }

  const std::string& dir() const { return dir_; }
  void set_dir(std::string dir) { dir_ = std::move(dir); }
  void set_policy(PluginPolicy policy) { policy_ = policy; }
  // The plugins shipped with the host (the data-store sinks, the examples):
  // a name `dir` does not have is looked for there, under the same policy.
  // Empty (the default): none.
  void set_bundled_dir(std::string dir) { bundled_dir_ = std::move(dir); }
  // Beside the running host: ../lib/streams/plugins (installed), else
  // ../plugins (the build tree); empty when neither is a directory.
  static std::string default_bundled_dir();

 private:
  // Empty if the policy allows loading `path`, found in `dir`, else why not.
  std::string refusal(const std::string& path, const std::string& dir) const;
  // <dir>/<name>.so or <dir>/lib<name>.so, whichever exists; else empty.
  static std::string find_in(const std::string& dir, const std::string& name);

  std::string dir_;
  std::string bundled_dir_;
  PluginPolicy policy_;
  std::map<std::string, std::weak_ptr<PluginLibrary>> loaded_;
  PythonProvider python_;
};

}  // namespace streams::plugin
