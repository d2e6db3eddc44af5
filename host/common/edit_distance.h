// Edit distance, for "did you mean" in configuration and usage errors.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streams {

// Insertions, deletions and substitutions turning `a` into `b`.
inline size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// Whether `word` is near enough to `name` to be a typo of it: the one
// notion of "near" behind every "did you mean".
inline bool near_miss(std::string_view word, std::string_view name) {
  return edit_distance(word, name) <= std::max<size_t>(2, std::max(word.size(), name.size()) / 4);
}

// The nearest of `names` (strings or C strings) to `word`, if near enough to
// be a typo of it; the first of equally near ones.
template <class Names>
std::optional<std::string> nearest_name(std::string_view word, const Names& names) {
  std::optional<std::string> best;
  size_t best_distance = 0;
  for (const auto& name : names) {
    const std::string_view candidate(name);
    if (!near_miss(word, candidate)) continue;
    const size_t d = edit_distance(word, candidate);
    if (!best || d < best_distance) best = std::string(candidate), best_distance = d;
  }
  return best;
}

// "; did you mean 'X'?" for nearest_name(word, names), or "".
inline std::string did_you_mean(std::string_view word, const std::vector<std::string>& names) {
  const std::optional<std::string> best = nearest_name(word, names);
  return best ? "; did you mean '" + *best + "'?" : "";
}

}  // namespace streams
