// Counters a plugin names and counts itself (plugin ABI 1.11: `counter`,
// `count`), kept for the life of the process so that they run on across
// reloads, rebalances and instances: one per step and name, exported with
// the host's metrics as streams_plugin_<name>_total{pipeline, step}.
//
// Thread: any. counter() takes a lock (meant for a plugin's create); add()
// and each() take none: a counter's slot and its name are written once,
// before its handle is published.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace streams::metrics {

class PluginCounters {
 public:
  static constexpr size_t kMax = 256;

  // The handle (1..kMax) of step `step`'s counter `name`, made on first
  // use; 0 for a name not of 1 to 64 of [a-z0-9_], or when all kMax are
  // taken, with *why set the first time the step asks for that name.
  uint32_t counter(std::string_view step, std::string_view name, std::string* why);
  // Adds `n` to counter `handle`; 0 or an unknown handle is ignored.
  void add(uint32_t handle, uint64_t n) {
    if (handle == 0 || handle > kMax) return;
    values_[handle - 1].fetch_add(n, std::memory_order_relaxed);
  }

  // Calls visit(family, step, value) for every counter made so far, in the
  // order they were made; `family` is "plugin_<name>_total" and, like
  // `step`, lives as long as this object.
  template <class F>
  void each(F visit) const {
    const size_t n = size_.load(std::memory_order_acquire);
    for (size_t i = 0; i < n; ++i) {
      visit(keys_[i].family, keys_[i].step, values_[i].load(std::memory_order_relaxed));
    }
  }

 private:
  struct Key {
    std::string family;
    std::string step;
  };
  std::mutex mu_;
  std::set<std::string> refused_;  // "step\0name", told once
  std::array<std::atomic<uint64_t>, kMax> values_{};
  // keys_[i] names values_[i]; a key is written before size_ grows past
  // it, and never again.
  std::array<Key, kMax> keys_;
  std::atomic<size_t> size_{0};
};

// The process's plugin counters.
PluginCounters& plugin_counters();

}  // namespace streams::metrics
