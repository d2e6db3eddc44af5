// Metrics a plugin names and keeps itself: counters (plugin ABI 1.11),
// gauges and histograms (1.12). They live for the life of the process, so
// they run on across reloads, rebalances and instances: one per step, kind
// and name, shared by every instance of the step, exported with the host's
// metrics as streams_plugin_<name>_total (a counter) or streams_plugin_<name>
// (a gauge, a histogram), labels pipeline and step.
//
// A name is one kind: the Prometheus series one would write (a histogram's
// NAME, NAME_bucket, NAME_sum and NAME_count, a counter's NAME_total) may
// not be another's, in any step; such a name is refused, as is a name not of
// 1 to 64 of [a-z0-9_] or one past a kind's capacity.
//
// Thread: any. counter(), gauge() and histogram() take a lock (meant for a
// plugin's create); updates and each_*() take none: a slot and its key are
// written once, before its handle is published.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace streams::metrics {

class PluginMetrics {
 public:
  static constexpr size_t kCounters = 256;
  static constexpr size_t kGauges = 256;
  static constexpr size_t kHistograms = 64;
  static constexpr size_t kMaxBounds = 16;

  enum class Kind { counter, gauge, histogram };

  // The handle (1..capacity) of step `step`'s metric `name` of that kind,
  // made on first use; 0 when refused, with *why set the first time the step
  // asks for that name. A histogram's `bounds` are its buckets' upper bounds
  // (finite, ascending, 1 to kMaxBounds; none: kDefaultBounds, seconds); a
  // histogram made before keeps its bounds (*why says so if they differ).
  uint32_t counter(std::string_view step, std::string_view name, std::string* why);
  uint32_t gauge(std::string_view step, std::string_view name, std::string* why);
  uint32_t histogram(std::string_view step, std::string_view name, const double* bounds,
                     size_t count, std::string* why);

  // Updates; 0 or an unknown handle is ignored. No lock, no allocation.
  void add(uint32_t counter, uint64_t n) {
    if (counter == 0 || counter > kCounters) return;
    counters_[counter - 1].fetch_add(n, std::memory_order_relaxed);
  }
  void set(uint32_t gauge, double value) {
    if (gauge == 0 || gauge > kGauges) return;
    gauges_[gauge - 1].store(value, std::memory_order_relaxed);
  }
  void add_to(uint32_t gauge, double delta) {
    if (gauge == 0 || gauge > kGauges) return;
    add_double(gauges_[gauge - 1], delta);
  }
  void observe(uint32_t histogram, double value);

  // Visits every metric of the kind made so far, in the order made:
  // visit(family, step, value) for counters and gauges, visit(family, step,
  // bounds, buckets (one more than bounds: +Inf), sum) for histograms.
  // `family` ("plugin_<name>_total", "plugin_<name>") and `step` live as long
  // as this object.
  template <class F>
  void each_counter(F visit) const {
    each_value(counter_keys_, counters_, visit);
  }
  template <class F>
  void each_gauge(F visit) const {
    each_value(gauge_keys_, gauges_, visit);
  }
  template <class F>
  void each_histogram(F visit) const {
    const size_t n = histogram_keys_.size.load(std::memory_order_acquire);
    for (size_t i = 0; i < n; ++i) {
      const Histogram& h = histograms_[i];
      std::vector<double> bounds(h.bounds.begin(), h.bounds.begin() + h.bound_count);
      std::vector<uint64_t> buckets(h.bound_count + 1);
      for (size_t b = 0; b < buckets.size(); ++b) {
        buckets[b] = h.buckets[b].load(std::memory_order_relaxed);
      }
      const Key& k = histogram_keys_.keys[i];
      visit(k.family, k.step, bounds, buckets, h.sum.load(std::memory_order_relaxed));
    }
  }

  // Seconds, from a millisecond to ten seconds.
  static const std::vector<double>& default_bounds();

 private:
  struct Key {
    std::string family;
    std::string step;
  };
  template <size_t N>
  struct Keys {
    // keys[i] names slot i; a key is written before size grows past it,
    // and never again.
    std::array<Key, N> keys;
    std::atomic<size_t> size{0};
  };
  struct Histogram {
    std::array<double, kMaxBounds> bounds{};
    size_t bound_count = 0;
    std::array<std::atomic<uint64_t>, kMaxBounds + 1> buckets{};
    std::atomic<double> sum{0};
  };

  template <class K, class V, class F>
  static void each_value(const K& keys, const V& values, F& visit) {
    const size_t n = keys.size.load(std::memory_order_acquire);
    for (size_t i = 0; i < n; ++i) {
      visit(keys.keys[i].family, keys.keys[i].step, values[i].load(std::memory_order_relaxed));
    }
  }
  static void add_double(std::atomic<double>& to, double delta) {
    double was = to.load(std::memory_order_relaxed);
    while (!to.compare_exchange_weak(was, was + delta, std::memory_order_relaxed)) {
    }
  }
  // Under mu_: the slot of (kind, step, name) in `keys`, made if new; 0 and
  // *why when refused. *made says whether it is new.
  template <size_t N>
  uint32_t slot(Kind kind, std::string_view step, std::string_view name, Keys<N>& keys,
                std::string* why, bool* made);
  // The same for a counter or a gauge, taking mu_ and publishing a new slot.
  template <size_t N>
  uint32_t made(Kind kind, std::string_view step, std::string_view name, Keys<N>& keys,
                std::string* why);
  // Under mu_: why a name of `kind` clashes with another kind's, or "".
  std::string clash(Kind kind, std::string_view name) const;
  // Under mu_: sets *why to `reason` (which names the metric and its kind)
  // the first time the step meets it.
  void refuse(std::string_view step, std::string reason, std::string* why);

  std::mutex mu_;
  std::set<std::string> told_;                       // "step\0reason", told once
  std::vector<std::pair<Kind, std::string>> names_;  // every (kind, name) made
  Keys<kCounters> counter_keys_;
  Keys<kGauges> gauge_keys_;
  Keys<kHistograms> histogram_keys_;
  std::array<std::atomic<uint64_t>, kCounters> counters_{};
  std::array<std::atomic<double>, kGauges> gauges_{};
  std::array<Histogram, kHistograms> histograms_;
};

// The process's plugin metrics.
PluginMetrics& plugin_metrics();

}  // namespace streams::metrics
