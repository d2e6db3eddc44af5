#include "plugin/python_provider.h"

#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "common/dir_walk.h"
#include "common/log.h"
#include "plugin/host_paths.h"
#include "python/describe.h"

namespace streams::plugin {

std::string executable_dir() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string exe(buf, static_cast<size_t>(n));
  const size_t slash = exe.rfind('/');
  return slash == std::string::npos ? "." : exe.substr(0, slash);
}

namespace {

constexpr size_t kMaxFiles = 10000;     // .py files read
constexpr size_t kMaxEntries = 200000;  // entries walked (a data directory among the modules)

void collect(const std::filesystem::path& dir, std::vector<std::string>* files) {
  size_t entries = 0;
  const bool whole = walk_tree(dir, [files, &entries](const std::filesystem::directory_entry& e) {
    if (files->size() >= kMaxFiles || ++entries > kMaxEntries) return WalkNext::stop;
    const std::string name = e.path().filename().string();
    std::error_code ec;
    if (e.is_directory(ec))
      return PythonProvider::module_dir(name) ? WalkNext::into : WalkNext::over;
    if (name.size() > 3 && name.compare(name.size() - 3, 3, ".py") == 0 && e.is_regular_file(ec)) {
      files->push_back(e.path().string());
    }
    return WalkNext::into;
  });
  if (!whole) {
    log::warn("python modules: the walk of " + dir.string() + " stopped at " +
              std::to_string(kMaxFiles) + " .py files or " + std::to_string(kMaxEntries) +
              " entries: a reload does not see a change past them (keep data and installed "
              "packages out of the modules' directories, or in a hidden one)");
  }
}

}  // namespace

std::string PythonProvider::default_bridge_path() {
  if (const char* env = std::getenv("STREAMS_PYTHON_BRIDGE"); env && *env) return env;
  return executable_dir() + "/../lib/streams/python.so";
}

std::shared_ptr<PluginLibrary> PythonProvider::bridge(std::string* error) {
  // One per process, whatever the number of registries: a second copy of
  // the bridge would share the interpreter but not its state.
  // Never destroyed, so never unloaded.
  static std::mutex mutex;
  static auto& loaded = *new std::shared_ptr<PluginLibrary>;
  std::lock_guard<std::mutex> lock(mutex);
  if (loaded) return loaded;
  std::string why;
  const std::string path = std::filesystem::path(bridge_path_).lexically_normal().string();
  loaded = PluginLibrary::load(path, &why);
  if (auto set_log =
          loaded ? reinterpret_cast<python::SetLogFn>(loaded->symbol(STREAMS_PYTHON_SET_LOG_NAME))
                 : nullptr) {
    set_log(
        [](int32_t level, const char* text, size_t size) {
          log::write(static_cast<log::Level>(level), "[python] " + std::string(text, size));
        },
        [] { return static_cast<int32_t>(log::level()); });
  }
  static python::LogLevelChangedFn level_changed = nullptr;  // the loaded bridge's, for ever
  level_changed = loaded ? reinterpret_cast<python::LogLevelChangedFn>(
                               loaded->symbol(STREAMS_PYTHON_LOG_LEVEL_NAME))
                         : nullptr;
  if (level_changed) {
    log::set_level_listener([](log::Level level) { level_changed(static_cast<int32_t>(level)); });
  }
  if (!loaded) {
    *error = "the Python bridge cannot be loaded: " + why +
             " (it is built with the host as lib/streams/python.so; set STREAMS_PYTHON_BRIDGE "
             "to its path if it lives elsewhere)";
  }
  return loaded;
}

std::shared_ptr<void> PythonProvider::hold(const std::string& code) {
  std::string error;
  auto library = bridge(&error);
  auto fn = library ? reinterpret_cast<python::HoldFn>(library->symbol(STREAMS_PYTHON_HOLD_NAME))
                    : nullptr;
  if (!fn) return nullptr;
  fn(code.data(), code.size(), +1);
  // The bridge is never unloaded: the release may come at any time.
  return std::shared_ptr<void>(nullptr, [fn, code](void*) { fn(code.data(), code.size(), -1); });
}

std::string PythonProvider::lib_dir() const {
  const std::string path = std::filesystem::path(bridge_path_).lexically_normal().string();
  const size_t slash = path.rfind('/');
  return (slash == std::string::npos ? std::string(".") : path.substr(0, slash)) + "/python";
}

namespace {

// The bridge's entry point `name`; null with *error when it has none.
template <class Fn>
Fn entry_point(const PluginLibrary& library, const char* name, std::string* error) {
  auto fn = reinterpret_cast<Fn>(library.symbol(name));
  if (!fn)
    *error = library.path() + " has no " + name + ": a bridge from another build of the host";
  return fn;
}

std::vector<const char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<const char*> out;
  for (const std::string& s : strings) out.push_back(s.c_str());
  return out;
}

struct DescribeOut {
  std::string* text;
  std::vector<std::string>* warnings;
  std::vector<std::string>* modules;
  std::string* error;
};

void take(void* ctx, int kind, const char* data, size_t size) {
  auto* out = static_cast<DescribeOut*>(ctx);
  std::string s(data, size);
  if (kind == python::kDescribeText) *out->text = std::move(s);
  if (kind == python::kDescribeWarning) out->warnings->push_back(std::move(s));
  if (kind == python::kDescribeError) *out->error = std::move(s);
  if (kind == python::kDescribeModule && out->modules) out->modules->push_back(std::move(s));
}

}  // namespace

bool PythonProvider::describe(const std::string& file, const std::vector<std::string>& dirs,
                              const std::string& code, const std::string& schemas_dir,
                              std::string* text, std::vector<std::string>* warnings,
                              std::vector<std::string>* modules, std::string* error) {
  auto library = bridge(error);
  if (!library) return false;
  auto fn = entry_point<python::DescribeFn>(*library, STREAMS_PYTHON_DESCRIBE_NAME, error);
  if (!fn) return false;
  const std::vector<const char*> dir_ptrs = c_strings(dirs);
  const std::string lib = lib_dir();
  const python::DescribeRequest request{file.c_str(), dir_ptrs.data(), dir_ptrs.size(),
                                        lib.c_str(),  code.c_str(),    schemas_dir.c_str()};
  DescribeOut out{text, warnings, modules, error};
  const python::DescribeSink sink{&out, &take};
  return fn(&request, &sink) == 0;
}

namespace {

struct ImportedOut {
  std::vector<std::string>* modules;
  std::vector<std::string>* errors;
};

void take_imported(void* ctx, int kind, const char* data, size_t size) {
  auto* out = static_cast<ImportedOut*>(ctx);
  if (kind == python::kDescribeModule) out->modules->emplace_back(data, size);
  if (kind == python::kDescribeError) out->errors->emplace_back(data, size);
}

}  // namespace

bool PythonProvider::imported_files(const std::vector<std::string>& names,
                                    const std::vector<std::string>& dirs, const std::string& code,
                                    std::vector<std::string>* modules,
                                    std::vector<std::string>* errors, std::string* error) {
  auto library = bridge(error);
  if (!library) return false;
  auto fn = entry_point<python::ImportFn>(*library, STREAMS_PYTHON_IMPORT_NAME, error);
  if (!fn) return false;
  const std::vector<const char*> name_ptrs = c_strings(names), dir_ptrs = c_strings(dirs);
  const std::string lib = lib_dir();
  const python::ImportRequest request{name_ptrs.data(), name_ptrs.size(), dir_ptrs.data(),
                                      dir_ptrs.size(),  lib.c_str(),      code.c_str()};
  ImportedOut out{modules, errors};
  const python::DescribeSink sink{&out, &take_imported};
  fn(&request, &sink);
  return true;
}

std::function<bool(std::string_view, std::string*)> PythonProvider::json_error() {
  std::string error;
  auto library = bridge(&error);
  auto fn =
      library
          ? reinterpret_cast<python::JsonErrorFn>(library->symbol(STREAMS_PYTHON_JSON_ERROR_NAME))
          : nullptr;
  if (!fn) return nullptr;
  return [fn](std::string_view text, std::string* reason) {
    char said[1024];
    const size_t n = fn(text.data(), text.size(), said, sizeof said);
    if (n == 0) return false;
    reason->assign(said, n);
    return true;
  };
}

bool PythonProvider::made_up_name(const std::string& python) {
  return python.find(python::kRegisteredCallables) != std::string::npos;
}

bool PythonProvider::module_dir(const std::string& name) {
  // Not the user's modules: hidden directories (.venv), caches, installed
  // packages (a venv without a dot).
  return !name.empty() && name[0] != '.' && name != "__pycache__" && name != "site-packages" &&
         name != "dist-packages";
}

std::string PythonProvider::code_hash(const std::vector<std::string>& dirs) {
  std::vector<std::string> files;
  for (const std::string& dir : dirs) collect(dir, &files);
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  uint64_t h = 1469598103934665603ull;
  for (const std::string& f : files) {
    for (char c : f) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    const uint64_t content = content_hash(f);
    for (int i = 0; i < 8; ++i) {
      h = (h ^ ((content >> (8 * i)) & 0xff)) * 1099511628211ull;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

}  // namespace streams::plugin
