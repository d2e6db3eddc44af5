// Finds plugin files in the plugins directory and loads them (control plane,
// single thread).
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

namespace streams::plugin {

class PluginRegistry {
 public:
  explicit PluginRegistry(std::string plugins_dir) : dir_(std::move(plugins_dir)) {}

  // The plugin called `name`: <dir>/<name>.so, else <dir>/lib<name>.so. The
  // library loaded before is returned while one is still held and its file
  // is the same (FileIdentity). On failure returns nullptr with *error.
  std::shared_ptr<PluginLibrary> get(const std::string& name, std::string* error);

  const std::string& dir() const { return dir_; }
  void set_dir(std::string dir) { dir_ = std::move(dir); }

 private:
  std::string dir_;
  std::map<std::string, std::weak_ptr<PluginLibrary>> loaded_;
};

}  // namespace streams::plugin
