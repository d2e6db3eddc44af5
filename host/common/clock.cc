#include "common/clock.h"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace streams {
namespace {

// Reads `width` digits at *pos into *out and moves *pos past them.
bool digits(std::string_view text, size_t* pos, size_t width, int* out) {
  if (*pos + width > text.size()) return false;
  int value = 0;
  for (size_t i = 0; i < width; ++i) {
    const char c = text[*pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    value = value * 10 + (c - '0');
  }
  *pos += width;
  *out = value;
  return true;
}

bool expect(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

bool all_digits(std::string_view text) {
  if (text.empty() || text.size() > 18) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// "Z", "+HH:MM", "-HH:MM" or nothing (UTC) into *offset_s (east of UTC).
bool zone(std::string_view text, size_t* pos, int64_t* offset_s) {
  *offset_s = 0;
  if (*pos == text.size()) return true;
  if (text[*pos] == 'Z') return ++*pos == text.size();
  const char sign = text[*pos];
  if (sign != '+' && sign != '-') return false;
  ++*pos;
  int hh = 0, mm = 0;
  if (!digits(text, pos, 2, &hh) || !expect(text, pos, ':') || !digits(text, pos, 2, &mm) ||
      hh > 23 || mm > 59 || *pos != text.size()) {
    return false;
  }
  *offset_s = (sign == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
  return true;
}

}  // namespace

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

bool parse_time(std::string_view text, int64_t* ms) {
  if (all_digits(text)) {
    *ms = std::stoll(std::string(text));
    return true;
  }
  size_t pos = 0;
  tm t{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!digits(text, &pos, 4, &year) || !expect(text, &pos, '-') || !digits(text, &pos, 2, &month) ||
      !expect(text, &pos, '-') || !digits(text, &pos, 2, &day) ||
      !(expect(text, &pos, 'T') || expect(text, &pos, ' ')) || !digits(text, &pos, 2, &hour) ||
      !expect(text, &pos, ':') || !digits(text, &pos, 2, &minute)) {
    return false;
  }
  if (expect(text, &pos, ':')) {
    if (!digits(text, &pos, 2, &second)) return false;
    if (expect(text, &pos, '.') && !digits(text, &pos, 3, &millis)) return false;
  }
  int64_t offset_s = 0;
  if (!zone(text, &pos, &offset_s) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60) {
    return false;
  }
  t.tm_year = year - 1900;
  t.tm_mon = month - 1;
  t.tm_mday = day;
  t.tm_hour = hour;
  t.tm_min = minute;
  t.tm_sec = second;
  const time_t seconds = timegm(&t);
  if (t.tm_mday != day) return false;  // normalised: no such day (Feb 30)
  *ms = (static_cast<int64_t>(seconds) - offset_s) * 1000 + millis;
  return true;
}

bool parse_duration(std::string_view text, int64_t* ms) {
  size_t n = 0;
  while (n < text.size() && std::isdigit(static_cast<unsigned char>(text[n]))) ++n;
  if (n == 0 || n > 12) return false;
  const int64_t value = std::stoll(std::string(text.substr(0, n)));
  const std::string_view unit = text.substr(n);
  int64_t scale = 0;
  if (unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60 * 1000;
  } else if (unit == "h") {
    scale = 3600 * 1000;
  } else if (unit == "d") {
    scale = 24 * 3600 * 1000;
  } else {
    return false;
  }
  *ms = value * scale;
  return true;
}

}  // namespace streams
