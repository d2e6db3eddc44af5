#include "plugin/plugin_library.h"

#define BOOST_DLL_USE_STD_FS
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/dll/shared_library.hpp>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "common/edit_distance.h"
#include "common/fnv.h"
#include "common/log.h"
#include "plugin/elf_check.h"

namespace streams::plugin {

struct PluginLibrary::Handle {
  boost::dll::shared_library library;
  std::string staged;  // the private copy's name (unlinked once open)
};

namespace {

// Empty if the ELF file exports this host's entry symbol, else the reason.
std::string check_entry_symbol(const std::string& path) {
  ElfSymbols symbols;
  std::string error;
  if (!read_elf_symbols(path, &symbols, &error)) return error;
  std::string other;
  for (const auto& s : symbols.names) {
    if (s == STREAMS_PLUGIN_ENTRY_NAME) return "";
    if (s.rfind(STREAMS_PLUGIN_ENTRY_PREFIX, 0) == 0) other = s;
  }
  if (!other.empty()) {
    return "built for plugin ABI v" + other.substr(sizeof(STREAMS_PLUGIN_ENTRY_PREFIX) - 1) +
           " (exports " + other + "); this host supports ABI v" +
           std::to_string(STREAMS_ABI_MAJOR) + " (" + STREAMS_PLUGIN_ENTRY_NAME + ")";
  }
  return std::string("no entry symbol ") + STREAMS_PLUGIN_ENTRY_NAME +
         " (not a streams plugin, or built without STREAMS_PLUGIN)";
}

FileIdentity identity_of(const struct stat& st) {
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
          static_cast<uint64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

// Copies `path` to a new private file; returns its path or "" with *error.
// *identity: the file as it was when the copy started; *hash: of its bytes.
std::string stage_copy(const std::string& path, FileIdentity* identity, uint64_t* hash,
                       std::string* error) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/streams-plugin-XXXXXX.so";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int fd = mkstemps(name.data(), 3);
  if (fd < 0) {
    *error = "cannot create a staged copy in " + pattern + ": " + std::strerror(errno);
    return "";
  }
  const int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  bool ok = in >= 0 && ::fstat(in, &st) == 0;
  if (ok) *identity = identity_of(st);
  std::vector<char> buf(1 << 16);
  Fnv1a bytes;
  for (ssize_t got = 1; ok && got > 0;) {
    got = ::read(in, buf.data(), buf.size());
    ok = got >= 0;
    if (got > 0) bytes.add(std::string_view(buf.data(), static_cast<size_t>(got)));
    const char* p = buf.data();
    for (ssize_t left = got; ok && left > 0;) {
      const ssize_t n = ::write(fd, p, static_cast<size_t>(left));
      ok = n > 0;
      p += n;
      left -= n;
    }
  }
  if (in >= 0) ::close(in);
  ::close(fd);
  *hash = bytes.value();
  if (!ok) {
    ::unlink(name.data());
    *error = "cannot copy to a staged file " + std::string(name.data());
    return "";
  }
  return name.data();
}

}  // namespace

uint64_t content_hash(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  Fnv1a h;
  std::vector<char> buf(1 << 16);
  for (ssize_t got; (got = ::read(fd, buf.data(), buf.size())) > 0;) {
    h.add(std::string_view(buf.data(), static_cast<size_t>(got)));
  }
  ::close(fd);
  return h.value();
}

bool identify(const std::string& path, FileIdentity* out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  *out = identity_of(st);
  return true;
}

std::string check_descriptor(const streams_plugin* d) {
  if (!d) return "entry point returned no descriptor";
  if (!STREAMS_HAS_FIELD(d, streams_plugin, functions)) {
    return "descriptor too small (struct_size " + std::to_string(d->struct_size) + ")";
  }
  if (d->abi_major != STREAMS_ABI_MAJOR) {
    return "descriptor declares ABI v" + std::to_string(d->abi_major) + "; this host supports v" +
           std::to_string(STREAMS_ABI_MAJOR);
  }
  if (!d->name || !*d->name) return "descriptor has no plugin name";
  if (d->function_count > 0 && !d->functions) return "descriptor has no function table";
  for (size_t i = 0; i < d->function_count; ++i) {
    const streams_function* f = d->functions[i];
    const std::string which = "function #" + std::to_string(i);
    if (!f || f->struct_size < STREAMS_FUNCTION_SIZE_1_0) return which + " is missing or too small";
    if (!f->name || !*f->name) return which + " has no name";
    const std::string fn = "function '" + std::string(f->name) + "'";
    if (f->kind < STREAMS_KIND_MAP || f->kind > STREAMS_KIND_SINK) {
      return fn + " has unknown kind " + std::to_string(f->kind);
    }
    if (!f->create || !f->destroy) return fn + " lacks create or destroy";
    const bool sink = f->kind == STREAMS_KIND_SINK;
    if (f->kind != STREAMS_KIND_AGGREGATE && !sink && !f->process) return fn + " lacks process";
    if (sink && (!STREAMS_HAS_FIELD(f, streams_function, sink_partition) || !f->write_batch ||
                 !f->poll_sink)) {
      return fn + " is a sink but lacks write_batch or poll_sink (ABI 1.6)";
    }
    if (sink && f->sink_guarantee > STREAMS_SINK_EXACTLY_ONCE) {
      return fn + " declares unknown sink_guarantee " + std::to_string(f->sink_guarantee);
    }
    if (sink && f->sink_guarantee == STREAMS_SINK_EXACTLY_ONCE &&
        STREAMS_HAS_FIELD(f, streams_function, sink_batches_out) && f->sink_batches_out > 1) {
      return fn + " declares sink_batches_out " + std::to_string(f->sink_batches_out) +
             " with an exactly-once guarantee, which needs a partition's batches in order (1)";
    }
    if (f->kind == STREAMS_KIND_AGGREGATE && (!STREAMS_HAS_FIELD(f, streams_function, result) ||
                                              !f->init || !f->add || !f->merge || !f->result)) {
      return fn + " is an aggregate but lacks init, add, merge or result (ABI 1.2)";
    }
    if (STREAMS_HAS_FIELD(f, streams_function, state_version) &&
        f->state_version > STREAMS_MAX_STATE_VERSION) {
      return fn + " declares state_version " + std::to_string(f->state_version) +
             "; the highest is " + std::to_string(STREAMS_MAX_STATE_VERSION);
    }
  }
  return "";
}

std::shared_ptr<PluginLibrary> PluginLibrary::load(const std::string& path, std::string* error) {
  auto fail = [&](const std::string& why) {
    *error = path + ": " + why;
    return nullptr;
  };
  if (::access(path.c_str(), R_OK) != 0)
    return fail(std::string("cannot read: ") + std::strerror(errno));
  std::string why = check_entry_symbol(path);
  if (!why.empty()) return fail(why);
  FileIdentity identity;
  uint64_t hash = 0;
  std::string staged = stage_copy(path, &identity, &hash, &why);
  if (staged.empty()) return fail(why);
  auto handle = std::make_unique<Handle>();
  handle->staged = staged;
  boost::dll::fs::error_code ec;
  handle->library.load(boost::dll::fs::path(staged),
                       boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  ::unlink(staged.c_str());  // the mapping stays valid; nothing to clean up later
  if (ec) {
    const char* detail = ::dlerror();
    return fail("cannot load: " + (detail ? std::string(detail) : ec.message()));
  }
  auto& entry = handle->library.get<const streams_plugin*()>(STREAMS_PLUGIN_ENTRY_NAME);
  const streams_plugin* descriptor = entry();
  why = check_descriptor(descriptor);
  if (!why.empty()) return fail(why);
  std::shared_ptr<PluginLibrary> library(new PluginLibrary(path, std::move(handle), descriptor));
  library->identity_ = identity;
  library->hash_ = hash;
  return library;
}

PluginLibrary::PluginLibrary(std::string path, std::unique_ptr<Handle> handle,
                             const streams_plugin* descriptor)
    : path_(std::move(path)), handle_(std::move(handle)), descriptor_(descriptor) {}

PluginLibrary::~PluginLibrary() {
  handle_->library.unload();
  // glibc finds a loaded object by its name, even once the file is gone.
  if (void* still = ::dlopen(handle_->staged.c_str(), RTLD_LAZY | RTLD_NOLOAD)) {
    ::dlclose(still);
    log::warn("plugin " + path_ +
              ": its code is still mapped after unloading (STB_GNU_UNIQUE symbols, a "
              "thread_local with a destructor, or RTLD_NODELETE keep it); build plugins with "
              "streams_add_plugin()");
  }
}

const streams_function* PluginLibrary::find(std::string_view name) const {
  for (size_t i = 0; i < descriptor_->function_count; ++i) {
    if (name == descriptor_->functions[i]->name) return descriptor_->functions[i];
  }
  return nullptr;
}

void* PluginLibrary::symbol(const char* name) const {
  return ::dlsym(handle_->library.native(), name);
}

std::string PluginLibrary::function_names() const {
  std::string out;
  for (size_t i = 0; i < descriptor_->function_count; ++i) {
    out += (i ? ", " : "") + std::string(descriptor_->functions[i]->name);
  }
  return out.empty() ? "none" : out;
}

std::string PluginLibrary::missing_function(std::string_view name) const {
  std::vector<std::string> names;
  for (size_t i = 0; i < descriptor_->function_count; ++i) {
    names.emplace_back(descriptor_->functions[i]->name);
  }
  const std::string guess = did_you_mean(name, names);
  return "has no function '" + std::string(name) + "'" + guess + (guess.empty() ? ";" : "") +
         " it exports: " + function_names();
}

}  // namespace streams::plugin
