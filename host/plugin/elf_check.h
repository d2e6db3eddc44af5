// Reads what the host needs from a plugin file before any of its code can
// run: that it is a shared library for this machine whose loadable segments
// and sections lie inside the file, and the names in its dynamic symbol
// table (.dynsym, kept by strip). Every offset and size is checked against
// the file before it is read; the work is linear in the file's size and
// stops at a time budget. No exceptions; nothing is mapped.
//
// Thread: any (no shared state).
#pragma once

#include <string>
#include <vector>

namespace streams::plugin {

struct ElfSymbols {
  std::vector<std::string> names;  // defined dynamic symbols
};

// True with *out filled, or false with *error saying what is wrong with the
// file ("truncated: ...", "not an ELF file ...", "built for ...").
bool read_elf_symbols(const std::string& path, ElfSymbols* out, std::string* error);

}  // namespace streams::plugin
