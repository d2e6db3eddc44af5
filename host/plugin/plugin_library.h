// One loaded plugin library (control plane).
//
// Lifetime: held by shared_ptr by every generation and function instance made
// from it, so the code stays mapped until the last instance is gone. The
// destructor unloads it and logs a warning if the code stays mapped anyway
// (STB_GNU_UNIQUE symbols, a thread_local with a destructor, RTLD_NODELETE).
// Thread: load() on the control thread; the accessors are immutable after
// load and safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <streams/plugin_abi.h>

namespace streams::plugin {

// What a plugin file was when it was loaded: a file replaced (renamed over)
// or rewritten in place compares unequal.
struct FileIdentity {
  uint64_t device = 0, inode = 0, size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileIdentity& o) const {
    return device == o.device && inode == o.inode && size == o.size && mtime_ns == o.mtime_ns;
  }
  bool operator!=(const FileIdentity& o) const { return !(*this == o); }
};

// The identity of the file at `path` now; false if it cannot be read.
bool identify(const std::string& path, FileIdentity* out);
// A 64-bit FNV-1a hash of the file's bytes (0 if it cannot be read): a file
// copied over with the same bytes is the same plugin.
uint64_t content_hash(const std::string& path);

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
  // The file as it was copied for loading.
  const FileIdentity& identity() const { return identity_; }
  uint64_t content_hash() const { return hash_; }
  std::string_view name() const { return descriptor_->name; }
  std::string_view version() const { return descriptor_->version ? descriptor_->version : ""; }
  // The function called `name`, or nullptr. Valid while *this lives.
  const streams_function* find(std::string_view name) const;
  const streams_plugin& descriptor() const { return *descriptor_; }
  // Comma-separated names of the exported functions, for error messages.
  std::string function_names() const;
  // "has no function 'NAME'; did you mean 'X'? it exports: a, b" (no guess
  // when nothing is near), for error messages.
  std::string missing_function(std::string_view name) const;
  // Another exported symbol of the library, or nullptr (for libraries built
  // with the host, such as the Python bridge).
  void* symbol(const char* name) const;

 private:
  struct Handle;
  PluginLibrary(std::string path, std::unique_ptr<Handle> handle, const streams_plugin* descriptor);

  std::string path_;
  FileIdentity identity_;
  uint64_t hash_ = 0;  // of the bytes copied
  std::unique_ptr<Handle> handle_;
  const streams_plugin* descriptor_;
};

// Checks a descriptor returned by a plugin entry point. Returns an empty
// string if it is usable, else the reason. Exposed for tests.
std::string check_descriptor(const streams_plugin* descriptor);

}  // namespace streams::plugin
