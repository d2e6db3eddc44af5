// Edit distance, for "did you mean" in configuration and usage errors.
#pragma once

#include <algorithm>
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

// Whether `word` is a likely typo of `name`.
inline bool near_miss(std::string_view word, std::string_view name) {
  return edit_distance(word, name) <= std::max<size_t>(2, name.size() / 4);
}

// "; did you mean 'X'?" for the nearest of `names` to `word`, if near
// enough to be a typo of it; else "".
inline std::string did_you_mean(std::string_view word, const std::vector<std::string>& names) {
  const std::string* best = nullptr;
  size_t best_distance = 0;
  for (const std::string& name : names) {
    const size_t d = edit_distance(word, name);
    if (!best || d < best_distance) best = &name, best_distance = d;
  }
  if (!best || best_distance > std::max<size_t>(2, word.size() / 3)) return "";
  return "; did you mean '" + *best + "'?";
}

}  // namespace streams
