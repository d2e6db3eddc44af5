// FNV-1a, 64 bits: a fast hash of bytes that is the same in every run and on
// every machine (to notice a change, to group alike things); not for security.
#pragma once

#include <cstdint>
#include <string_view>

namespace streams {

class Fnv1a {
 public:
  Fnv1a& add(std::string_view bytes) {
    for (unsigned char c : bytes) h_ = (h_ ^ c) * kPrime;
    return *this;
  }
  // `part`, then a separator: ("ab", "c") and ("a", "bc") hash apart.
  Fnv1a& add_part(std::string_view part) {
    add(part);
    h_ = (h_ ^ 0xff) * kPrime;
    return *this;
  }
  uint64_t value() const { return h_; }

 private:
  static constexpr uint64_t kPrime = 1099511628211ull;
  uint64_t h_ = 14695981039346656037ull;  // the offset basis
};

}  // namespace streams
