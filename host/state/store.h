// A partition's durable key-value store: what a state backend (memory,
// rocksdb) keeps for one source partition of one pipeline. One family of
// keys per stateful step, by the step's declared name, plus a checkpoint
// written atomically with the changes it covers.
//
// Values are stored as the Table encodes them (table.h): the backend sees
// opaque bytes and keeps them in key order per family.
//
// Lifetime: a Store lives while its partition is assigned; the Backend that
// opened it outlives it. Thread: one thread at a time (the partition's
// processing thread), except Backend::open, which the control plane may call.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace streams::state {

// What a checkpoint records besides the changes: the source offset they
// cover (every input before it) and the partition's event clock then.
struct Checkpoint {
  int64_t offset = -1;         // -1: the store has never been checkpointed
  int64_t event_time_ms = -1;  // the highest input timestamp before `offset`
};

enum class Found { yes, no, error };

class Store {
 public:
  virtual ~Store() = default;

  // The id of step `name`'s family, created when missing. False with
  // *error when the backend cannot.
  virtual bool family(const std::string& name, uint32_t* id, std::string* error) = 0;
  // The names of every family that holds (or held) a step's state.
  virtual std::vector<std::string> families() const = 0;

  // Copies the value of `key` into *value.
  virtual Found get(uint32_t family, std::string_view key, std::string* value,
                    std::string* error) = 0;
  // Calls visit(ctx, key, value) for each key starting with `prefix`, in
  // key order, until it returns false. Views are valid during the visit.
  using Visit = bool (*)(void* ctx, std::string_view key, std::string_view value);
  virtual bool scan(uint32_t family, std::string_view prefix, Visit visit, void* ctx,
                    std::string* error) = 0;

  // One change of a commit: `value` null erases the key, or with a
  // non-empty `end` every key from `key` up to (not including) `end`.
  struct Write {
    uint32_t family;
    std::string_view key;
    const std::string* value;
    std::string_view end = {};
  };
  // Applies `writes` in order and records `checkpoint`, all or nothing.
  virtual bool commit(const std::vector<Write>& writes, const Checkpoint& checkpoint,
                      std::string* error) = 0;
  // The last checkpoint committed (offset -1 for a new store).
  virtual Checkpoint checkpoint() const = 0;

  // The pending log (partition_state.h): batches of changes written as they
  // are (no index), one per prepared offset. write_batch is durable against
  // a killed process once it returns; a batch cut short by a crash is not
  // returned by read_batches.
  virtual bool write_batch(int64_t offset, std::string_view bytes, std::string* error) = 0;
  // Every batch, by increasing offset.
  virtual bool read_batches(std::vector<std::pair<int64_t, std::string>>* out,
                            std::string* error) = 0;
  // Drops the batches at `offset` or before.
  virtual bool drop_batches(int64_t offset, std::string* error) = 0;
  // Keys and bytes (keys + values) of a family, as the backend estimates them.
  virtual void size(uint32_t family, uint64_t* keys, uint64_t* bytes) const = 0;
};

// Opens the stores of one pipeline's partitions.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Where it keeps stores ("" in memory).
  virtual std::string where() const = 0;
  // Prepares to open stores (creates the directory): false with *error,
  // naming the path, when it cannot be used. open() prepares as well.
  virtual bool check(std::string* error) = 0;
  // The store of `partition`; null with *error (naming the path) when it
  // cannot be opened, and *corrupt (when given) set if its files are
  // corrupt (rather than unreadable or in use).
  virtual std::unique_ptr<Store> open(int32_t partition, std::string* error,
                                      bool* corrupt = nullptr) = 0;
  // Moves `partition`'s store aside (renamed beside the others, *moved_to,
  // kept for inspection): the next open() starts an empty one. False with
  // *error.
  virtual bool set_aside(int32_t partition, std::string* moved_to, std::string* error) = 0;
  // The names of the steps whose state its stores hold, over every
  // partition, without opening them. False with *error.
  virtual bool stored_steps(std::vector<std::string>* out, std::string* error) = 0;
};

// True for a family name the host keeps for itself (not a step's).
inline bool internal_family(const std::string& name) { return !name.empty() && name[0] == '\x01'; }

// Keeps every partition's store in memory for the backend's life: a
// partition revoked and assigned again finds its state (local runs, tests).
std::unique_ptr<Backend> memory_backend();

// RocksDB under `dir` (created when a store is first opened): one
// database a partition, `dir/partition-N`, a column family a stateful step.
std::unique_ptr<Backend> rocksdb_backend(const std::string& dir);

// The memtable size of a stateful step's RocksDB family opened while
// `open_families` others are: the process's memtable budget (128 MiB)
// shared, between 1 and 16 MiB. Its bloom filter is 2% of it, made whole
// with each memtable, so a host with hundreds of stateful partitions does
// not spend 335 KB a partition on filters for memtables the budget flushes
// long before they fill.
size_t step_memtable_bytes(int64_t open_families);

// The store of `partition` under `dir` (as rocksdb_backend keeps it),
// opened to read: what RocksDB holds, its write-ahead log included, as of
// now; it takes no lock, so its host may be running. Writes fail. Null
// with *error naming the path when there is none or it cannot be read.
std::unique_ptr<Store> open_rocksdb_to_read(const std::string& dir, int32_t partition,
                                            std::string* error);

}  // namespace streams::state
