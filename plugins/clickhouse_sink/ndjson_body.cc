#include "ndjson_body.h"

#include <algorithm>
#include <cstring>

namespace streams_ch {

size_t copy_ndjson(const std::string_view* rows, size_t count, NdjsonCursor* c, char* out,
                   size_t capacity) {
  size_t n = 0;
  while (n < capacity && c->row < count) {
    const std::string_view row = rows[c->row];
    if (c->at < row.size()) {
      const size_t take = std::min(capacity - n, row.size() - c->at);
      std::memcpy(out + n, row.data() + c->at, take);
      n += take;
      c->at += take;
    } else {
      out[n++] = '\n';
      ++c->row;
      c->at = 0;
    }
  }
  return n;
}

}  // namespace streams_ch
