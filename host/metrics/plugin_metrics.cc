#include "metrics/plugin_metrics.h"

#include <algorithm>
#include <cmath>

namespace streams::metrics {
namespace {

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

const char* kind_name(PluginMetrics::Kind kind) {
  switch (kind) {
    case PluginMetrics::Kind::counter:
      return "counter";
    case PluginMetrics::Kind::gauge:
      return "gauge";
    case PluginMetrics::Kind::histogram:
      return "histogram";
  }
  return "metric";
}

// The Prometheus series a metric of `kind` named `name` writes, without the
// "streams_plugin_" prefix; a counter's DogStatsD name (NAME) too.
std::vector<std::string> series(PluginMetrics::Kind kind, std::string_view name) {
  const std::string n(name);
  switch (kind) {
    case PluginMetrics::Kind::counter:
      return {n + "_total", n};
    case PluginMetrics::Kind::gauge:
      return {n};
    case PluginMetrics::Kind::histogram:
      return {n, n + "_bucket", n + "_sum", n + "_count"};
  }
  return {};
}

std::string family(PluginMetrics::Kind kind, std::string_view name) {
  return "plugin_" + std::string(name) + (kind == PluginMetrics::Kind::counter ? "_total" : "");
}

// Why `bounds` are not a histogram's buckets, or "".
std::string bad_bounds(const double* bounds, size_t count) {
  if (count > PluginMetrics::kMaxBounds) {
    return std::to_string(count) + " bucket bounds, at most " +
           std::to_string(PluginMetrics::kMaxBounds);
  }
  for (size_t i = 0; i < count; ++i) {
    if (!std::isfinite(bounds[i])) return "a bucket bound that is not a finite number";
    if (i > 0 && bounds[i] <= bounds[i - 1]) return "bucket bounds not in ascending order";
  }
  return "";
}

}  // namespace

const std::vector<double>& PluginMetrics::default_bounds() {
  static const std::vector<double> bounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,  0.5,    1,     2.5,  5,     10};
  return bounds;
}

void PluginMetrics::refuse(std::string_view step, std::string reason, std::string* why) {
  std::string key = std::string(step) + '\0' + reason;
  if (told_.size() < 4 * kCounters && told_.insert(std::move(key)).second) *why = std::move(reason);
}

std::string PluginMetrics::clash(Kind kind, std::string_view name) const {
  const std::string refused =
      std::string(kind_name(kind)) + " '" + std::string(name) + "' refused: ";
  const std::vector<std::string> mine = series(kind, name);
  for (const auto& [other_kind, other] : names_) {
    if (other_kind == kind && other == name) continue;
    if (other == name) return refused + "a " + kind_name(other_kind) + " has the name";
    for (const std::string& s : series(other_kind, other)) {
      if (std::find(mine.begin(), mine.end(), s) != mine.end()) {
        return refused + "streams_plugin_" + s + " is the " + kind_name(other_kind) + " '" + other +
               "'";
      }
    }
  }
  return "";
}

template <size_t N>
uint32_t PluginMetrics::slot(Kind kind, std::string_view step, std::string_view name, Keys<N>& keys,
                             std::string* why, bool* made) {
  *made = false;
  if (!valid_name(name)) {
    refuse(step,
           std::string(kind_name(kind)) + " name '" + std::string(name.substr(0, 80)) +
               "' refused: expected 1 to 64 of a-z, 0-9 and _",
           why);
    return 0;
  }
  const std::string fam = family(kind, name);
  const size_t n = keys.size.load(std::memory_order_relaxed);
  for (size_t i = 0; i < n; ++i) {
    if (keys.keys[i].family == fam && keys.keys[i].step == step)
      return static_cast<uint32_t>(i + 1);
  }
  std::string clashes = clash(kind, name);
  if (!clashes.empty()) {
    refuse(step, std::move(clashes), why);
    return 0;
  }
  if (n == N) {
    refuse(step,
           std::string(kind_name(kind)) + " '" + std::string(name) + "' refused: the host's " +
               std::to_string(N) + " plugin " + kind_name(kind) + "s are taken",
           why);
    return 0;
  }
  const std::pair<Kind, std::string> entry{kind, std::string(name)};
  if (std::find(names_.begin(), names_.end(), entry) == names_.end()) names_.push_back(entry);
  keys.keys[n] = {fam, std::string(step)};
  *made = true;
  return static_cast<uint32_t>(n + 1);
}

template <size_t N>
uint32_t PluginMetrics::made(Kind kind, std::string_view step, std::string_view name, Keys<N>& keys,
                             std::string* why) {
  std::lock_guard<std::mutex> lock(mu_);
  bool is_new = false;
  const uint32_t handle = slot(kind, step, name, keys, why, &is_new);
  if (is_new) keys.size.store(handle, std::memory_order_release);
  return handle;
}

uint32_t PluginMetrics::counter(std::string_view step, std::string_view name, std::string* why) {
  return made(Kind::counter, step, name, counter_keys_, why);
}

uint32_t PluginMetrics::gauge(std::string_view step, std::string_view name, std::string* why) {
  return made(Kind::gauge, step, name, gauge_keys_, why);
}

uint32_t PluginMetrics::histogram(std::string_view step, std::string_view name,
                                  const double* bounds, size_t count, std::string* why) {
  if (bounds == nullptr || count == 0) {
    bounds = default_bounds().data();
    count = default_bounds().size();
  }
  std::lock_guard<std::mutex> lock(mu_);
  const std::string bad = bad_bounds(bounds, count);
  if (!bad.empty()) {
    refuse(step, "histogram '" + std::string(name.substr(0, 80)) + "' refused: " + bad, why);
    return 0;
  }
  bool made = false;
  const uint32_t handle = slot(Kind::histogram, step, name, histogram_keys_, why, &made);
  if (handle == 0) return 0;
  Histogram& h = histograms_[handle - 1];
  if (made) {
    std::copy(bounds, bounds + count, h.bounds.begin());
    h.bound_count = count;
    histogram_keys_.size.store(handle, std::memory_order_release);
  } else if (h.bound_count != count || !std::equal(bounds, bounds + count, h.bounds.begin())) {
    refuse(step,
           "histogram '" + std::string(name) +
               "' keeps the bucket bounds it was made with (a restart takes new ones)",
           why);
  }
  return handle;
}

void PluginMetrics::observe(uint32_t handle, double value) {
  if (handle == 0 || handle > kHistograms || std::isnan(value)) return;
  Histogram& h = histograms_[handle - 1];
  size_t b = 0;
  while (b < h.bound_count && value > h.bounds[b]) ++b;
  h.buckets[b].fetch_add(1, std::memory_order_relaxed);
  add_double(h.sum, value);
}

PluginMetrics& plugin_metrics() {
  static PluginMetrics metrics;  // lives until exit: plugins may count until then
  return metrics;
}

}  // namespace streams::metrics
