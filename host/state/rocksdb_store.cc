// The rocksdb backend. Layout: one database a partition (`DIR/partition-N`),
// so a partition's state is opened, closed, restored and deleted on its own
// when it moves between hosts, and one write batch covers every step of the
// partition with its checkpoint; inside it a column family a stateful step
// (`step.NAME`), so a step's keys are scanned, sized and dropped apart from
// the others'. The checkpoint is the key `streams.checkpoint` of the default
// family.
//
// Durability: writes go through RocksDB's write-ahead log without fsync.
// A killed process loses nothing RocksDB acknowledged; a machine crash may
// lose the last checkpoints, which the changelog restores.
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "common/log.h"
#include "common/open_files.h"
#include "state/checkpoint_codec.h"
#include "state/store.h"

namespace streams::state {
namespace {

constexpr const char* kCheckpointKey = "streams.checkpoint";
// Memtables of every store of the process share one budget (RocksDB's
// default is 64 MiB a family).
constexpr size_t kMemtableBudget = size_t{128} << 20;
// Step families open in the process (each store adds its own).
std::atomic<int64_t> open_step_families{0};
constexpr std::string_view kFamilyPrefix = "step.";

// RocksDB's messages go to the host's log, not to a LOG file in each store:
// a file descriptor less a partition, nothing written beside a running host
// by a read-only open, and no crash on a full disk (RocksDB 7.8, built with
// assertions as Debian builds it, aborts when it logs a write error to a
// LOG file whose own last write failed). Warnings and errors always; the
// rest at debug. Thread: any (RocksDB's background threads).
class StoreLogger final : public rocksdb::Logger {
 public:
  explicit StoreLogger(const std::string& path)
      : rocksdb::Logger(log::enabled(log::Level::debug) ? rocksdb::InfoLogLevel::INFO_LEVEL
                                                        : rocksdb::InfoLogLevel::WARN_LEVEL),
        prefix_("state: rocksdb " + path + ": ") {}

  using rocksdb::Logger::Logv;
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel() || level >= rocksdb::InfoLogLevel::HEADER_LEVEL) return;
    char text[1024];
    const int n = std::vsnprintf(text, sizeof text, format, ap);
    size_t size = n < 0 ? 0 : std::min(static_cast<size_t>(n), sizeof text - 1);
    while (size > 0 && std::isspace(static_cast<unsigned char>(text[size - 1]))) --size;
    const log::Level ours = level >= rocksdb::InfoLogLevel::ERROR_LEVEL  ? log::Level::error
                            : level == rocksdb::InfoLogLevel::WARN_LEVEL ? log::Level::warn
                                                                         : log::Level::debug;
    log::write(ours, prefix_ + std::string(text, size));
  }

 private:
  const std::string prefix_;
};

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

// Creates `dir` and its parents; false with *error naming it.
bool make_dirs(const std::string& dir, std::string* error) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i != dir.size() && dir[i] != '/') continue;
    const std::string part = dir.substr(0, i);
    if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
      *error = "state_dir " + dir + ": cannot create " + part + ": " + std::strerror(errno);
      return false;
    }
  }
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = "state_dir " + dir + " is not a directory";
    return false;
  }
  return true;
}

// RocksDB counts every operation in a thread-local perf context unless told
// not to (its default level is kEnableCount), a TLS access through the
// shared library's __tls_get_addr each: an eighth of a state update's time
// in plugin_call_bench. We read none of those counts. Once per thread.
void without_perf_counts() {
  static thread_local const bool off = [] {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    return true;
  }();
  (void)off;
}

class RocksStore final : public Store {
 public:
  ~RocksStore() override {
    for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_.reset();
    open_step_families -= static_cast<int64_t>(steps_.size());
  }

  // `batches`: the directory of the pending log's batch files.
  static std::unique_ptr<Store> open(const std::string& path, std::string batches,
                                     std::string* error, bool* corrupt) {
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    options.max_open_files = 256;
    options.info_log = std::make_shared<StoreLogger>(path);
    // Memtables of every store of the process share one budget, so many
    // partitions and steps do not take 64 MiB (RocksDB's default) each.
    static const auto buffers = std::make_shared<rocksdb::WriteBufferManager>(kMemtableBudget);
    options.write_buffer_manager = buffers;
    // The directory first: RocksDB logs a missing one as an error.
    if (!make_dirs(path, error) || !make_dirs(batches, error)) return nullptr;
    std::vector<std::string> names;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, path, &names);
    if (!s.ok()) names = {rocksdb::kDefaultColumnFamilyName};  // a new database
    const std::vector<rocksdb::ColumnFamilyDescriptor> families = descriptors(names);
    auto store = std::unique_ptr<RocksStore>(new RocksStore(path, std::move(batches)));
    rocksdb::DB* db = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    s = rocksdb::DB::Open(options, path, families, &handles, &db);
    if (!s.ok()) {
      *error = "state store " + path + " cannot be opened: " + s.ToString() +
               open_files_hint(s.ToString());
      // Corrupt files, or files the database names missing (a CURRENT
      // naming a lost MANIFEST): not a lock held or a permission refused.
      if (corrupt) *corrupt = s.IsCorruption() || s.IsPathNotFound();
      return nullptr;
    }
    store->adopt(db, names, handles);
    if (!store->read_checkpoint(error)) return nullptr;
    return store;
  }

  // A store opened to read (a tool, while its host runs or not): what
  // RocksDB holds, its write-ahead log included; no lock taken, no file
  // written. Its writes fail.
  static std::unique_ptr<Store> open_read_only(const std::string& path, std::string* error) {
    rocksdb::DBOptions options;
    options.max_open_files = 64;
    options.info_log = std::make_shared<StoreLogger>(path);
    std::vector<std::string> names;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, path, &names);
    if (!s.ok()) {
      *error = "state store " + path + " cannot be read: " + s.ToString();
      return nullptr;
    }
    const std::vector<rocksdb::ColumnFamilyDescriptor> families = descriptors(names);
    auto store = std::unique_ptr<RocksStore>(new RocksStore(path, ""));
    store->read_only_ = true;
    rocksdb::DB* db = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    s = rocksdb::DB::OpenForReadOnly(options, path, families, &handles, &db);
    if (!s.ok()) {
      *error = "state store " + path + " cannot be read: " + s.ToString();
      return nullptr;
    }
    store->adopt(db, names, handles);
    if (!store->read_checkpoint(error)) return nullptr;
    return store;
  }

  bool family(const std::string& name, uint32_t* id, std::string* error) override {
    for (uint32_t i = 0; i < steps_.size(); ++i) {
      if (steps_[i].name == name) {
        *id = i;
        return true;
      }
    }
    if (read_only_) {
      *error = "state store " + path_ + " holds no state of step '" + name + "'";
      return false;
    }
    rocksdb::ColumnFamilyHandle* handle = nullptr;
    rocksdb::Status s = db_->CreateColumnFamily(family_options(!internal_family(name)),
                                                std::string(kFamilyPrefix) + name, &handle);
    if (!s.ok()) {
      *error = "state store " + path_ + ": cannot create the family of step '" + name +
               "': " + s.ToString();
      return false;
    }
    handles_.push_back(handle);
    steps_.push_back({name, handle});
    ++open_step_families;
    *id = static_cast<uint32_t>(steps_.size() - 1);
    return true;
  }

  std::vector<std::string> families() const override {
    std::vector<std::string> out;
    for (const Step& s : steps_) out.push_back(s.name);
    return out;
  }

  Found get(uint32_t family, std::string_view key, std::string* value,
            std::string* error) override {
    without_perf_counts();
    rocksdb::Status s = db_->Get(read_, steps_[family].handle, slice(key), value);
    if (s.ok()) return Found::yes;
    if (s.IsNotFound()) return Found::no;
    *error = "state store " + path_ + ": read failed: " + s.ToString();
    return Found::error;
  }

  bool scan(uint32_t family, std::string_view prefix, Visit visit, void* ctx,
            std::string* error) override {
    without_perf_counts();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_, steps_[family].handle));
    for (it->Seek(slice(prefix)); it->Valid(); it->Next()) {
      const rocksdb::Slice k = it->key();
      if (!k.starts_with(slice(prefix))) break;
      const rocksdb::Slice v = it->value();
      if (!visit(ctx, {k.data(), k.size()}, {v.data(), v.size()})) break;
    }
    if (it->status().ok()) return true;
    *error = "state store " + path_ + ": scan failed: " + it->status().ToString();
    return false;
  }

  bool commit(const std::vector<Write>& writes, const Checkpoint& checkpoint,
              std::string* error) override {
    if (read_only_) return refuse_write(error);
    without_perf_counts();
    rocksdb::WriteBatch batch;
    for (const Write& w : writes) {
      rocksdb::ColumnFamilyHandle* h = steps_[w.family].handle;
      if (w.value) {
        batch.Put(h, slice(w.key), slice(*w.value));
      } else if (!w.end.empty()) {
        batch.DeleteRange(h, slice(w.key), slice(w.end));
      } else {
        batch.Delete(h, slice(w.key));
      }
    }
    const std::string meta = encode_checkpoint(checkpoint);
    batch.Put(handles_[0], kCheckpointKey, meta);
    rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch);
    if (!s.ok()) {
      *error = "state store " + path_ + ": write failed: " + s.ToString();
      return false;
    }
    checkpoint_ = checkpoint;
    return true;
  }

  Checkpoint checkpoint() const override { return checkpoint_; }

  // A batch file: the bytes, their size (8 bytes) and kBatchMagic, so that
  // a file a crash cut short is recognised and ignored.
  bool write_batch(int64_t offset, std::string_view bytes, std::string* error) override {
    if (read_only_) return refuse_write(error);
    const std::string path = batch_path(offset);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const uint64_t size = bytes.size();
    const bool ok = fd >= 0 && write_all(fd, bytes.data(), bytes.size()) &&
                    write_all(fd, &size, sizeof size) &&
                    write_all(fd, kBatchMagic, sizeof kBatchMagic);
    const int saved = errno;
    if (fd >= 0) ::close(fd);
    if (ok) return true;
    *error = "state store: cannot write " + path + ": " + std::strerror(saved);
    return false;
  }

  bool read_batches(std::vector<std::pair<int64_t, std::string>>* out,
                    std::string* error) override {
    out->clear();
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(batches_, ec)) {
      int64_t offset = 0;
      if (!batch_offset(entry.path().filename().string(), &offset)) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      uint64_t size = 0;
      const size_t trailer = sizeof size + sizeof kBatchMagic;
      if (bytes.size() < trailer || std::memcmp(bytes.data() + bytes.size() - sizeof kBatchMagic,
                                                kBatchMagic, sizeof kBatchMagic) != 0) {
        continue;  // cut short by a crash: its commit was never sent
      }
      std::memcpy(&size, bytes.data() + bytes.size() - trailer, sizeof size);
      if (size != bytes.size() - trailer) continue;
      bytes.resize(size);
      out->emplace_back(offset, std::move(bytes));
    }
    if (ec) {
      *error = "state store: cannot list " + batches_ + ": " + ec.message();
      return false;
    }
    std::sort(out->begin(), out->end());
    return true;
  }

  bool drop_batches(int64_t offset, std::string* error) override {
    if (read_only_) return refuse_write(error);
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(batches_, ec)) {
      int64_t at = 0;
      if (!batch_offset(entry.path().filename().string(), &at) || at > offset) continue;
      if (::unlink(entry.path().c_str()) != 0 && errno != ENOENT) {
        *error =
            "state store: cannot remove " + entry.path().string() + ": " + std::strerror(errno);
        return false;
      }
    }
    if (!ec) return true;
    *error = "state store: cannot list " + batches_ + ": " + ec.message();
    return false;
  }

  void size(uint32_t family, uint64_t* keys, uint64_t* bytes) const override {
    rocksdb::ColumnFamilyHandle* h = steps_[family].handle;
    uint64_t live = 0, mem = 0;
    *keys = 0;
    db_->GetIntProperty(h, "rocksdb.estimate-num-keys", keys);
    db_->GetIntProperty(h, "rocksdb.estimate-live-data-size", &live);
    db_->GetIntProperty(h, "rocksdb.cur-size-all-mem-tables", &mem);
    *bytes = live + mem;
  }

 private:
  struct Step {
    std::string name;
    rocksdb::ColumnFamilyHandle* handle;
  };

  RocksStore(std::string path, std::string batches)
      : path_(std::move(path)), batches_(std::move(batches)) {}

  // The families `names` with their options (a step's, or the host's own).
  static std::vector<rocksdb::ColumnFamilyDescriptor> descriptors(
      const std::vector<std::string>& names) {
    std::vector<rocksdb::ColumnFamilyDescriptor> out;
    for (const std::string& n : names) {
      out.emplace_back(n, family_options(n.compare(0, kFamilyPrefix.size(), kFamilyPrefix) == 0));
    }
    return out;
  }

  // Takes the opened database and its families' handles (by `names`).
  void adopt(rocksdb::DB* db, const std::vector<std::string>& names,
             const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
    db_.reset(db);
    handles_ = handles;  // [0] is the default family
    for (size_t i = 1; i < names.size(); ++i) {
      if (names[i].compare(0, kFamilyPrefix.size(), kFamilyPrefix) == 0) {
        steps_.push_back({names[i].substr(kFamilyPrefix.size()), handles[i]});
      }
    }
    open_step_families += static_cast<int64_t>(steps_.size());
  }

  bool refuse_write(std::string* error) const {
    *error = "state store " + path_ + " was opened to read only";
    return false;
  }

  // Point lookups dominate (a get per input of a stateful step): bloom
  // filters and a hash index in data blocks, as OptimizeForPointLookup sets
  // them, with one block cache for every store of the process.
  // A step's family (`step` true) or one the host keeps for itself (its
  // checkpoint, changelog positions: a few keys). A step's memtable is
  // step_memtable_bytes (16 MiB at most, not RocksDB's 64: the process's
  // budget flushes them sooner anyway); its bloom filter is sized from it
  // (2%) and cleared whole when the memtable is made.
  static rocksdb::ColumnFamilyOptions family_options(bool step = true) {
    static const std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(64 << 20);
    rocksdb::BlockBasedTableOptions table;
    table.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.block_cache = cache;
    rocksdb::ColumnFamilyOptions options;
    options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    options.write_buffer_size =
        step ? step_memtable_bytes(open_step_families.load(std::memory_order_relaxed)) : 1 << 20;
    if (step) {
      options.memtable_prefix_bloom_size_ratio = 0.02;
      options.memtable_whole_key_filtering = true;
    }
    return options;
  }

  static constexpr char kBatchMagic[8] = {'s', 't', 'r', 'e', 'a', 'm', 's', 'B'};

  std::string batch_path(int64_t offset) const {
    char name[32];
    std::snprintf(name, sizeof name, "%020lld.batch", static_cast<long long>(offset));
    return batches_ + "/" + name;
  }
  static bool batch_offset(const std::string& name, int64_t* offset) {
    if (name.size() != 26 || name.compare(20, 6, ".batch") != 0) return false;
    *offset = std::strtoll(name.c_str(), nullptr, 10);
    return true;
  }
  static bool write_all(int fd, const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      const ssize_t n = ::write(fd, p, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      p += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  }

  bool read_checkpoint(std::string* error) {
    std::string meta;
    rocksdb::Status s = db_->Get(read_, handles_[0], kCheckpointKey, &meta);
    if (s.IsNotFound()) return true;
    if (s.ok() && decode_checkpoint(meta, &checkpoint_)) return true;
    *error = "state store " + path_ + ": its checkpoint cannot be read (" +
             (s.ok() ? std::string("written by another version") : s.ToString()) + ")";
    return false;
  }

  std::string path_;
  std::string batches_;  // the pending log's files: OFFSET.batch
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // every open family; [0] default
  std::vector<Step> steps_;                            // by family id
  rocksdb::ReadOptions read_;
  Checkpoint checkpoint_;
  bool read_only_ = false;
};

class RocksBackend final : public Backend {
 public:
  explicit RocksBackend(std::string dir) : dir_(std::move(dir)) {}
  const char* name() const override { return "rocksdb"; }
  std::string where() const override { return dir_; }
  bool check(std::string* error) override {
    if (!make_dirs(dir_, error)) return false;
    if (access(dir_.c_str(), W_OK | X_OK) == 0) return true;
    *error = "state_dir " + dir_ + " is not writable: " + std::strerror(errno);
    return false;
  }
  std::unique_ptr<Store> open(int32_t partition, std::string* error, bool* corrupt) override {
    if (!check(error)) return nullptr;
    const std::string n = std::to_string(partition);
    return RocksStore::open(dir_ + "/partition-" + n, dir_ + "/pending-" + n, error, corrupt);
  }
  bool set_aside(int32_t partition, std::string* moved_to, std::string* error) override {
    const std::string n = std::to_string(partition);
    const std::string suffix = ".set-aside-" + std::to_string(std::time(nullptr));
    std::error_code ec;
    for (const std::string& name : {"partition-" + n, "pending-" + n}) {
      const std::string from = dir_ + "/" + name;
      if (!std::filesystem::exists(from, ec)) continue;
      std::filesystem::rename(from, from + suffix, ec);
      if (ec) {
        *error = "state store " + from + " cannot be moved aside: " + ec.message();
        return false;
      }
    }
    *moved_to = dir_ + "/partition-" + n + suffix;
    return true;
  }
  bool stored_steps(std::vector<std::string>* out, std::string* error) override {
    std::set<std::string> names;
    std::error_code ec;
    if (!std::filesystem::exists(dir_, ec)) return out->clear(), true;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
      const std::string file = entry.path().filename().string();
      // Stores set aside (partition-N.set-aside-T) hold no running state.
      if (file.compare(0, 10, "partition-") != 0 || file.find('.') != std::string::npos) continue;
      std::vector<std::string> families;
      rocksdb::Status s =
          rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), entry.path().string(), &families);
      if (s.IsCorruption() || s.IsPathNotFound()) continue;  // open() says so, and what then
      if (!s.ok()) {
        *error = "state store " + entry.path().string() + " cannot be read: " + s.ToString();
        return false;
      }
      for (const std::string& f : families) {
        const std::string name = f.substr(std::min(f.size(), kFamilyPrefix.size()));
        if (f.compare(0, kFamilyPrefix.size(), kFamilyPrefix) == 0 && !internal_family(name)) {
          names.insert(name);
        }
      }
    }
    if (ec) {
      *error = "state_dir " + dir_ + " cannot be listed: " + ec.message();
      return false;
    }
    out->assign(names.begin(), names.end());
    return true;
  }

 private:
  std::string dir_;
};

}  // namespace

size_t step_memtable_bytes(int64_t open_families) {
  constexpr size_t kMin = size_t{1} << 20, kMax = size_t{16} << 20;
  const size_t share =
      kMemtableBudget / static_cast<size_t>(std::max<int64_t>(open_families, 0) + 1);
  return std::clamp(share, kMin, kMax);
}

std::unique_ptr<Backend> rocksdb_backend(const std::string& dir) {
  return std::make_unique<RocksBackend>(dir);
}

std::unique_ptr<Store> open_rocksdb_to_read(const std::string& dir, int32_t partition,
                                            std::string* error) {
  return RocksStore::open_read_only(dir + "/partition-" + std::to_string(partition), error);
}

}  // namespace streams::state
