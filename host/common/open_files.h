// The process's limit on open files (RLIMIT_NOFILE), control plane. A host
// holds a few files for its clients and about eight more for each partition
// of each stateful step (a RocksDB store: its lock, write-ahead log,
// manifest and directories) plus the table files it reads. The soft
// limit most processes start with is 1024 (systemd's default, and
// containerd's from 2.0) while the hard limit is far higher, so a host with
// ~100 stateful partitions would fail on the soft one.
//
// Thread: raise_open_files_limit() once, at the start, before other
// threads open files.
#pragma once

#include <cstdint>
#include <string>

namespace streams {

// Raises the soft limit to the hard one. Returns the soft limit in force
// afterwards (0 when it cannot be read).
uint64_t raise_open_files_limit();

// The soft limit in force (0 when it cannot be read).
uint64_t open_files_limit();

// For an error that says the process ran out of file descriptors (EMFILE,
// "Too many open files"): what to do about it, naming the limit; empty for
// any other error.
std::string open_files_hint(const std::string& error);

}  // namespace streams
