#include "plugin/elf_check.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace streams::plugin {
namespace {

constexpr auto kBudget = std::chrono::seconds(2);
constexpr uint64_t kMaxFileBytes = uint64_t{1} << 30;

#if defined(__x86_64__)
constexpr uint16_t kMachine = EM_X86_64;
constexpr const char* kMachineName = "x86-64";
#elif defined(__aarch64__)
constexpr uint16_t kMachine = EM_AARCH64;
constexpr const char* kMachineName = "aarch64";
#else
#error "read_elf_symbols: add this machine's EM_ value"
#endif

class File {
 public:
  explicit File(int fd, uint64_t size) : fd_(fd), size_(size) {}
  ~File() { ::close(fd_); }
  uint64_t size() const { return size_; }

  // Reads [offset, offset + n) into `to`; false when it is not all inside
  // the file.
  bool read(uint64_t offset, uint64_t n, void* to) const {
    if (offset > size_ || n > size_ - offset) return false;
    auto* p = static_cast<char*>(to);
    while (n > 0) {
      const ssize_t got = ::pread(fd_, p, n, static_cast<off_t>(offset));
      if (got <= 0) return false;
      p += got;
      offset += static_cast<uint64_t>(got);
      n -= static_cast<uint64_t>(got);
    }
    return true;
  }
  bool inside(uint64_t offset, uint64_t n) const { return offset <= size_ && n <= size_ - offset; }

 private:
  int fd_;
  uint64_t size_;
};

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

bool check_header(const Elf64_Ehdr& h, std::string* error) {
  if (h.e_ident[EI_CLASS] != ELFCLASS64 || h.e_ident[EI_DATA] != ELFDATA2LSB) {
    *error = "not a 64-bit little-endian ELF file; this host is " + std::string(kMachineName);
  } else if (h.e_machine != kMachine) {
    *error = "built for another machine (ELF e_machine " + std::to_string(h.e_machine) +
             "); this host is " + kMachineName;
  } else if (h.e_type != ET_DYN) {
    *error = "not a shared library (ELF type " + std::to_string(h.e_type) +
             "); build the plugin with streams_add_plugin() or -shared";
  } else if (h.e_phentsize != sizeof(Elf64_Phdr) || h.e_shentsize != sizeof(Elf64_Shdr)) {
    *error = "corrupt ELF header: entry sizes " + std::to_string(h.e_phentsize) + "/" +
             std::to_string(h.e_shentsize);
  } else {
    return true;
  }
  return false;
}

// Every loadable segment must lie in the file: the dynamic loader maps
// them, and a page past the end faults (SIGBUS) when touched.
bool check_segments(const File& f, const Elf64_Ehdr& h, std::string* error) {
  for (uint16_t i = 0; i < h.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (!f.read(h.e_phoff + uint64_t{i} * sizeof ph, sizeof ph, &ph)) {
      *error = "truncated: program header " + std::to_string(i) + " at " +
               hex(h.e_phoff + uint64_t{i} * sizeof ph) + " is past the end of the file (" +
               std::to_string(f.size()) + " bytes)";
      return false;
    }
    if (ph.p_type == PT_LOAD && !f.inside(ph.p_offset, ph.p_filesz)) {
      *error = "truncated: loadable segment " + std::to_string(i) + " (" + hex(ph.p_offset) + ", " +
               std::to_string(ph.p_filesz) + " bytes) ends past the end of the file (" +
               std::to_string(f.size()) + " bytes)";
      return false;
    }
  }
  return true;
}

bool read_section(const File& f, const Elf64_Ehdr& h, uint32_t index, Elf64_Shdr* out,
                  std::string* error) {
  if (index >= h.e_shnum) {
    *error = "corrupt section table: section " + std::to_string(index) + " of " +
             std::to_string(h.e_shnum);
    return false;
  }
  if (!f.read(h.e_shoff + uint64_t{index} * sizeof *out, sizeof *out, out)) {
    *error = "truncated: the section headers (at " + hex(h.e_shoff) +
             ") end past the end of the file (" + std::to_string(f.size()) + " bytes)";
    return false;
  }
  if (out->sh_type != SHT_NOBITS && !f.inside(out->sh_offset, out->sh_size)) {
    *error = "truncated: section " + std::to_string(index) + " (" + hex(out->sh_offset) + ", " +
             std::to_string(out->sh_size) + " bytes) ends past the end of the file (" +
             std::to_string(f.size()) + " bytes)";
    return false;
  }
  return true;
}

bool read_symbols(const File& f, const Elf64_Shdr& dynsym, const Elf64_Shdr& dynstr,
                  ElfSymbols* out, std::string* error) {
  if (dynsym.sh_entsize != sizeof(Elf64_Sym) || dynsym.sh_size % sizeof(Elf64_Sym) != 0) {
    *error = "corrupt .dynsym: entry size " + std::to_string(dynsym.sh_entsize);
    return false;
  }
  std::string strings(dynstr.sh_size, '\0');
  std::vector<Elf64_Sym> symbols(dynsym.sh_size / sizeof(Elf64_Sym));
  if (!f.read(dynstr.sh_offset, dynstr.sh_size, strings.data()) ||
      !f.read(dynsym.sh_offset, dynsym.sh_size, symbols.data())) {
    *error = "cannot read the dynamic symbol table";
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + kBudget;
  for (size_t i = 0; i < symbols.size(); ++i) {
    if ((i & 4095) == 4095 && std::chrono::steady_clock::now() > deadline) {
      *error = "reading its " + std::to_string(symbols.size()) + " symbols took too long";
      return false;
    }
    const Elf64_Sym& s = symbols[i];
    if (s.st_shndx == SHN_UNDEF || s.st_name == 0) continue;
    if (s.st_name >= strings.size()) {
      *error = "corrupt .dynsym: symbol " + std::to_string(i) + " names byte " +
               std::to_string(s.st_name) + " of a " + std::to_string(strings.size()) +
               "-byte string table";
      return false;
    }
    const size_t end = strings.find('\0', s.st_name);
    if (end == std::string::npos) {
      *error = "corrupt .dynstr: symbol " + std::to_string(i) + "'s name is not terminated";
      return false;
    }
    out->names.emplace_back(strings, s.st_name, end - s.st_name);
  }
  return true;
}

}  // namespace

bool read_elf_symbols(const std::string& path, ElfSymbols* out, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    *error = std::string("cannot read: ") + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return false;
  }
  const File f(fd, static_cast<uint64_t>(st.st_size));
  if (!S_ISREG(st.st_mode)) {
    *error = "not a regular file";
    return false;
  }
  if (f.size() > kMaxFileBytes) {
    *error = "larger than " + std::to_string(kMaxFileBytes) + " bytes";
    return false;
  }
  Elf64_Ehdr h{};
  char magic[SELFMAG] = {};
  if (!f.read(0, SELFMAG, magic) || std::memcmp(magic, ELFMAG, SELFMAG) != 0) {
    *error = "not an ELF file (no \\x7fELF magic); is it a shared library?";
    return false;
  }
  if (!f.read(0, sizeof h, &h)) {
    *error = "truncated: " + std::to_string(f.size()) + " bytes, shorter than an ELF header";
    return false;
  }
  if (!check_header(h, error) || !check_segments(f, h, error)) return false;
  if (h.e_shnum == 0) {
    *error = "no section headers, so no dynamic symbol table to read";
    return false;
  }
  // Linkers write the section headers last: a file cut anywhere (a copy not
  // finished) ends inside or before them, even when .dynsym's are whole.
  if (!f.inside(h.e_shoff, uint64_t{h.e_shnum} * sizeof(Elf64_Shdr))) {
    *error = "truncated: the section headers (at " + hex(h.e_shoff) + ", " +
             std::to_string(h.e_shnum) + " of them) end past the end of the file (" +
             std::to_string(f.size()) + " bytes)";
    return false;
  }
  for (uint32_t i = 0; i < h.e_shnum; ++i) {
    Elf64_Shdr sh;
    if (!read_section(f, h, i, &sh, error)) return false;
    if (sh.sh_type != SHT_DYNSYM) continue;
    Elf64_Shdr strings;
    if (!read_section(f, h, sh.sh_link, &strings, error)) return false;
    if (strings.sh_type != SHT_STRTAB) {
      *error = "corrupt .dynsym: its string table (section " + std::to_string(sh.sh_link) +
               ") is not a string table";
      return false;
    }
    return read_symbols(f, sh, strings, out, error);
  }
  *error = "no dynamic symbol table (.dynsym): not a shared library that exports anything";
  return false;
}

}  // namespace streams::plugin
