// Finds plugin files in the plugins directory and loads each once
// (control plane, single thread).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "plugin/plugin_library.h"

namespace streams::plugin {

class PluginRegistry {
 public:
  explicit PluginRegistry(std::string plugins_dir) : dir_(std::move(plugins_dir)) {}

  // The plugin called `name`: <dir>/<name>.so, else <dir>/lib<name>.so.
  // Loaded on first use and cached. On failure returns nullptr with *error.
  std::shared_ptr<PluginLibrary> get(const std::string& name, std::string* error);

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::map<std::string, std::shared_ptr<PluginLibrary>> loaded_;
};

}  // namespace streams::plugin
