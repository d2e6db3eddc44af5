// One table of names per config enum: to_string, parsing and the list an
// error message offers all come from it, so they cannot disagree.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace streams::config {

template <class E>
struct Name {
  E value;
  const char* text;
};

// The name of `value` in `table`, or "?".
template <class E, size_t N>
const char* name_of(const Name<E> (&table)[N], E value) {
  for (const Name<E>& n : table) {
    if (n.value == value) return n.text;
  }
  return "?";
}

// The value named `text`; false if none is.
template <class E, size_t N>
bool parse_name(const Name<E> (&table)[N], std::string_view text, E* out) {
  for (const Name<E>& n : table) {
    if (text == n.text) {
      *out = n.value;
      return true;
    }
  }
  return false;
}

// "a, b or c" (`last` before the last name): the names, for "expected ..."
// messages.
template <class E, size_t N>
std::string name_list(const Name<E> (&table)[N], const char* last = " or ") {
  std::string out;
  for (size_t i = 0; i < N; ++i) {
    if (i > 0) out += i + 1 == N ? last : ", ";
    out += table[i].text;
  }
  return out;
}

}  // namespace streams::config
