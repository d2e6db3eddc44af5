// Views between the ABI's byte view (streams_bytes) and std::string_view,
// for the host's own code. Neither owns: the view is valid as long as what
// it views. A null streams_bytes (absent value) reads as an empty view.
#pragma once

#include <streams/plugin_abi.h>

#include <cstdint>
#include <string_view>

namespace streams {

inline streams_bytes bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

inline std::string_view text_of(streams_bytes b) {
  return {reinterpret_cast<const char*>(b.data), b.data ? b.size : 0};
}

}  // namespace streams
