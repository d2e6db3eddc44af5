// One loaded plugin library (control plane).
//
// Lifetime: held by shared_ptr by the registry and by every function instance
// made from it, so the code stays mapped until the last instance is gone.
// Thread: load() on the control thread; the accessors are immutable after
// load and safe from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <streams/plugin_abi.h>

namespace streams::plugin {

class PluginLibrary {
 public:
  // Loads the plugin file `path`:
  //  1. reads its ELF symbol table (no plugin code runs) and requires the
  //     entry symbol of this host's ABI major;
  //  2. copies it to a private staged file, so a user overwriting `path`
  //     later cannot corrupt the running code;
  //  3. opens the copy with RTLD_NOW | RTLD_LOCAL, calls the entry and checks
  //     the descriptor.
  // On failure returns nullptr and sets *error to one line naming `path` and
  // the reason.
  static std::shared_ptr<PluginLibrary> load(const std::string& path, std::string* error);

  ~PluginLibrary();
  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

  const std::string& path() const { return path_; }
  std::string_view name() const { return descriptor_->name; }
  std::string_view version() const { return descriptor_->version ? descriptor_->version : ""; }
  // The function called `name`, or nullptr. Valid while *this lives.
  const streams_function* find(std::string_view name) const;
  // Comma-separated names of the exported functions, for error messages.
  std::string function_names() const;

 private:
  struct Handle;
  PluginLibrary(std::string path, std::unique_ptr<Handle> handle, const streams_plugin* descriptor);

  std::string path_;
  std::unique_ptr<Handle> handle_;
  const streams_plugin* descriptor_;
};

// Checks a descriptor returned by a plugin entry point. Returns an empty
// string if it is usable, else the reason. Exposed for tests.
std::string check_descriptor(const streams_plugin* descriptor);

}  // namespace streams::plugin
