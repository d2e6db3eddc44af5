// An INSERT's JSONEachRow body read out of its rows as libcurl asks for it:
// each row and its '\n' copied straight into libcurl's buffer, with no body
// made first. Shared by the ClickHouse sink and its unit test.
#pragma once

#include <cstddef>
#include <string_view>

namespace streams_ch {

// A position in the NDJSON of rows: the row, and the byte within it (its
// '\n' is byte rows[row].size()).
struct NdjsonCursor {
  size_t row = 0;
  size_t at = 0;
};

// Copies the NDJSON of rows[0, count) (each row, then '\n') from *c into
// `out`, at most `capacity` bytes, and advances *c; returns the bytes
// copied. The rows are read through once their last byte is copied:
// c->row == count. The rows stay the caller's.
size_t copy_ndjson(const std::string_view* rows, size_t count, NdjsonCursor* c, char* out,
                   size_t capacity);

}  // namespace streams_ch
