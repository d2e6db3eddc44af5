#include "plugin/plugin_registry.h"

#include <unistd.h>

namespace streams::plugin {

std::shared_ptr<PluginLibrary> PluginRegistry::get(const std::string& name, std::string* error) {
  const std::string plain = dir_ + "/" + name + ".so";
  const std::string prefixed = dir_ + "/lib" + name + ".so";
  const std::string* path = nullptr;
  if (::access(plain.c_str(), F_OK) == 0)
    path = &plain;
  else if (::access(prefixed.c_str(), F_OK) == 0)
    path = &prefixed;
  if (!path) {
    *error = "plugin '" + name + "' not found: no " + plain + " or " + prefixed;
    return nullptr;
  }
  FileIdentity now;
  auto& slot = loaded_[name];
  if (auto known = slot.lock()) {
    if (known->path() == *path && identify(*path, &now) && now == known->identity()) return known;
  }
  auto library = PluginLibrary::load(*path, error);
  if (!library) return nullptr;
  if (library->name() != name) {
    *error =
        *path + ": the file is plugin '" + std::string(library->name()) + "', not '" + name + "'";
    return nullptr;
  }
  slot = library;
  return library;
}

}  // namespace streams::plugin
