// Python functions for pipeline steps (control plane): the bridge plugin
// that embeds the interpreter (host/python/), and the files that are a
// step's code, for reload.
//
// A `python: module.function` step runs the bridge function of the step's
// kind; the bridge gets the callable's name, the module directories and a
// hash of the code as the step's config (see python_bridge.cc), so a
// changed .py file makes a changed step, as a changed .so does.
// Thread: control thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plugin/plugin_library.h"

namespace streams::plugin {

class PythonProvider {
 public:
  // $STREAMS_PYTHON_BRIDGE if set, else lib/streams/python.so above the
  // directory of the running executable (the build tree and an install
  // alike).
  static std::string default_bridge_path();

  explicit PythonProvider(std::string bridge_path = default_bridge_path())
      : bridge_path_(std::move(bridge_path)) {}

  // The bridge, loaded on first use and then kept for the life of the
  // process: the interpreter it embeds is never finalized. It is the host's
  // own file, so the plugins directory's rules do not apply. Null with
  // *error (the path and why).
  std::shared_ptr<PluginLibrary> bridge(std::string* error);

  // A hold on version `code` of the user's modules for a generation that
  // runs it, released when the handle goes (any thread): the bridge keeps
  // what the version's names resolved to while held, and lets an old
  // version's modules go once no generation holds it. Null if the bridge
  // cannot be loaded or has no holds (then it keeps every version).
  std::shared_ptr<void> hold(const std::string& code);

  // The host's Python package (the pipeline DSL): lib/streams/python/
  // beside the bridge.
  std::string lib_dir() const;

  // Runs the Python pipeline file `file` (with its modules from `dirs`, at
  // version `code`) and describes its pipeline as the text of a YAML
  // pipeline file (see host/python/describe.h); Parser steps look for
  // schemas in `schemas_dir`. False with *error (the exception and its
  // traceback); warnings are added to *warnings, and the files of the
  // user's modules it imported (under `dirs`) to *modules.
  bool describe(const std::string& file, const std::vector<std::string>& dirs,
                const std::string& code, const std::string& schemas_dir, std::string* text,
                std::vector<std::string>* warnings, std::vector<std::string>* modules,
                std::string* error);

  // Resolves the dotted `names` (a YAML pipeline's `python:` callables) as
  // at run time, in version `code` of the modules under `dirs`, and adds the
  // files of the user's modules that loaded to *modules, and to *errors why
  // a name did not resolve (one each). False with *error if the bridge
  // cannot be loaded.
  bool imported_files(const std::vector<std::string>& names, const std::vector<std::string>& dirs,
                      const std::string& code, std::vector<std::string>* modules,
                      std::vector<std::string>* errors, std::string* error);

  // Python's reason for rejecting a JSON text (host/python/describe.h), for
  // the parser steps of Python pipeline files: the function returns true
  // with *reason replaced, false if Python reads the text. Null if the
  // bridge cannot be loaded. The function outlives the provider (the bridge
  // is never unloaded) and may be called from any thread.
  std::function<bool(std::string_view text, std::string* reason)> json_error();

  // A hash (hex) of the names and bytes of every .py file under `dirs`
  // (subdirectories included, through symbolic links too, each once;
  // hidden ones, __pycache__ and installed packages, site-packages and
  // dist-packages, not; bounded to 10,000 files and 200,000 entries, with
  // a warning): any edit to the modules changes it.
  static std::string code_hash(const std::vector<std::string>& dirs);
  // Whether a subdirectory named `name` of those may hold the user's
  // modules (code_hash reads it, the file watcher watches it): not a hidden
  // one, __pycache__, site-packages or dist-packages.
  static bool module_dir(const std::string& name);
  // Whether `python` (a step's `python:` name) is one the host made up for
  // a callable of a Python pipeline file (python/describe.h).
  static bool made_up_name(const std::string& python);

 private:
  std::string bridge_path_;
};

}  // namespace streams::plugin
