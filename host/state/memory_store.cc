// The memory backend: ordered maps that live as long as the backend.
#include <map>
#include <mutex>
#include <set>

#include "state/store.h"

namespace streams::state {
namespace {

struct Family {
  std::string name;
  std::map<std::string, std::string, std::less<>> entries;
  uint64_t bytes = 0;
};

// One partition's data; survives the Store that a revoke closes.
struct PartitionData {
  std::vector<Family> families;
  Checkpoint checkpoint;
  std::map<int64_t, std::string> batches;
};

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(std::shared_ptr<PartitionData> data) : data_(std::move(data)) {}

  bool family(const std::string& name, uint32_t* id, std::string*) override {
    auto& families = data_->families;
    for (uint32_t i = 0; i < families.size(); ++i) {
      if (families[i].name == name) {
        *id = i;
        return true;
      }
    }
    families.push_back(Family{name, {}, 0});
    *id = static_cast<uint32_t>(families.size() - 1);
    return true;
  }

  std::vector<std::string> families() const override {
    std::vector<std::string> out;
    for (const Family& f : data_->families) out.push_back(f.name);
    return out;
  }

  Found get(uint32_t family, std::string_view key, std::string* value, std::string*) override {
    const auto& entries = data_->families[family].entries;
    auto it = entries.find(key);
    if (it == entries.end()) return Found::no;
    value->assign(it->second);
    return Found::yes;
  }

  bool scan(uint32_t family, std::string_view prefix, Visit visit, void* ctx,
            std::string*) override {
    const auto& entries = data_->families[family].entries;
    for (auto it = entries.lower_bound(prefix); it != entries.end(); ++it) {
      if (std::string_view(it->first).substr(0, prefix.size()) != prefix) break;
      if (!visit(ctx, it->first, it->second)) break;
    }
    return true;
  }

  bool commit(const std::vector<Write>& writes, const Checkpoint& checkpoint,
              std::string*) override {
    for (const Write& w : writes) {
      Family& f = data_->families[w.family];
      if (!w.value && !w.end.empty()) {
        auto from = f.entries.lower_bound(w.key), to = f.entries.lower_bound(w.end);
        for (auto i = from; i != to; ++i) f.bytes -= i->first.size() + i->second.size();
        f.entries.erase(from, to);
        continue;
      }
      auto it = f.entries.find(w.key);
      if (it != f.entries.end()) {
        f.bytes -= it->first.size() + it->second.size();
        if (!w.value) {
          f.entries.erase(it);
          continue;
        }
        it->second = *w.value;
      } else if (!w.value) {
        continue;
      } else {
        it = f.entries.emplace(std::string(w.key), *w.value).first;
      }
      f.bytes += it->first.size() + it->second.size();
    }
    data_->checkpoint = checkpoint;
    return true;
  }

  Checkpoint checkpoint() const override { return data_->checkpoint; }

  bool write_batch(int64_t offset, std::string_view bytes, std::string*) override {
    data_->batches[offset].assign(bytes);
    return true;
  }
  bool read_batches(std::vector<std::pair<int64_t, std::string>>* out, std::string*) override {
    out->assign(data_->batches.begin(), data_->batches.end());
    return true;
  }
  bool drop_batches(int64_t offset, std::string*) override {
    data_->batches.erase(data_->batches.begin(), data_->batches.upper_bound(offset));
    return true;
  }

  void size(uint32_t family, uint64_t* keys, uint64_t* bytes) const override {
    const Family& f = data_->families[family];
    *keys = f.entries.size();
    *bytes = f.bytes;
  }

 private:
  std::shared_ptr<PartitionData> data_;
};

class MemoryBackend final : public Backend {
 public:
  const char* name() const override { return "memory"; }
  std::string where() const override { return ""; }
  bool check(std::string*) override { return true; }
  std::unique_ptr<Store> open(int32_t partition, std::string*, bool*) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& data = partitions_[partition];
    if (!data) data = std::make_shared<PartitionData>();
    return std::make_unique<MemoryStore>(data);
  }
  bool set_aside(int32_t partition, std::string* moved_to, std::string*) override {
    std::lock_guard<std::mutex> lock(mutex_);
    partitions_.erase(partition);
    *moved_to = "(dropped: memory)";
    return true;
  }
  bool stored_steps(std::vector<std::string>* out, std::string*) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::set<std::string> names;
    for (const auto& [partition, data] : partitions_) {
      for (const Family& f : data->families) {
        if (!internal_family(f.name)) names.insert(f.name);
      }
    }
    out->assign(names.begin(), names.end());
    return true;
  }

 private:
  std::mutex mutex_;
  std::map<int32_t, std::shared_ptr<PartitionData>> partitions_;
};

}  // namespace

std::unique_ptr<Backend> memory_backend() { return std::make_unique<MemoryBackend>(); }

}  // namespace streams::state
