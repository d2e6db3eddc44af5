// clickhouse_sink's JSONEachRow body read out of its rows (ndjson_body.h):
// whatever sizes libcurl asks for, the bytes are the rows, each followed by
// '\n', once, in order.
#define BOOST_TEST_MODULE ndjson_body
#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "clickhouse_sink/ndjson_body.h"

namespace {

using streams_ch::copy_ndjson;
using streams_ch::NdjsonCursor;

// Reads every byte of `rows` in reads of `capacity`, checking that no read
// but the last past the end comes back short.
std::string read_all(const std::vector<std::string_view>& rows, size_t capacity) {
  NdjsonCursor c;
  std::string body;
  std::vector<char> buffer(capacity);
  for (;;) {
    const size_t n = copy_ndjson(rows.data(), rows.size(), &c, buffer.data(), capacity);
    body.append(buffer.data(), n);
    if (n < capacity) break;
  }
  BOOST_TEST(c.row == rows.size());
  BOOST_TEST(copy_ndjson(rows.data(), rows.size(), &c, buffer.data(), capacity) == 0u);
  return body;
}

}  // namespace

BOOST_AUTO_TEST_CASE(rows_come_out_whole_whatever_the_read_size) {
  const std::string long_row(100000, 'x');  // longer than libcurl's buffer
  const std::vector<std::string_view> rows = {R"({"a":1})", "", R"({"b":"two"})", long_row, "{}"};
  std::string expected;
  for (std::string_view r : rows) {
    expected.append(r);
    expected.push_back('\n');
  }
  for (size_t capacity : {1, 2, 3, 7, 8, 9, 13, 64, 65536, 1 << 20}) {
    BOOST_TEST_CONTEXT("reads of " << capacity << " bytes") {
      BOOST_TEST(read_all(rows, capacity) == expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_read_ending_on_a_row_end_leaves_its_newline_to_the_next) {
  const std::vector<std::string_view> rows = {"abc", "de"};
  NdjsonCursor c;
  char out[8];
  BOOST_TEST(copy_ndjson(rows.data(), rows.size(), &c, out, 3) == 3u);
  BOOST_TEST(std::string_view(out, 3) == "abc");
  BOOST_TEST(c.row == 0u);  // its '\n' still to come
  BOOST_TEST(copy_ndjson(rows.data(), rows.size(), &c, out, 8) == 4u);
  BOOST_TEST(std::string_view(out, 4) == "\nde\n");
  BOOST_TEST(c.row == 2u);
}

BOOST_AUTO_TEST_CASE(no_rows_no_bytes) {
  NdjsonCursor c;
  char out[4];
  BOOST_TEST(copy_ndjson(nullptr, 0, &c, out, sizeof out) == 0u);
}
