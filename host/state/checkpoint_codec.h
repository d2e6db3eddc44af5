// The stored form of a Checkpoint (store.h): a version byte, then the offset
// and the event clock as 64-bit little-endian integers.
#pragma once

#include <cstring>
#include <string>
#include <string_view>

#include "state/store.h"

namespace streams::state {

inline std::string encode_checkpoint(const Checkpoint& c) {
  std::string out(17, '\0');
  out[0] = 1;
  std::memcpy(&out[1], &c.offset, 8);
  std::memcpy(&out[9], &c.event_time_ms, 8);
  return out;
}

// False when `bytes` is not a checkpoint this version wrote.
inline bool decode_checkpoint(std::string_view bytes, Checkpoint* out) {
  if (bytes.size() != 17 || bytes[0] != 1) return false;
  std::memcpy(&out->offset, bytes.data() + 1, 8);
  std::memcpy(&out->event_time_ms, bytes.data() + 9, 8);
  return true;
}

}  // namespace streams::state
