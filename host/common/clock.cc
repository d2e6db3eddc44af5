#include "common/clock.h"

#include <cstdio>
#include <ctime>

namespace streams {

std::string iso_utc(int64_t ms) {
  const time_t seconds = static_cast<time_t>(ms / 1000);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const int n = std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                              utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                              utc.tm_min, utc.tm_sec, static_cast<int>(ms % 1000));
  return std::string(text, static_cast<size_t>(n));
}

}  // namespace streams
