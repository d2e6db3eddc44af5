// The ClickHouse sink's RowBinary rows (plugins/clickhouse_sink/row_binary.h):
// column types as DESCRIBE TABLE writes them, JSON fields encoded by type,
// missing keys, and the fields a column refuses.
#define BOOST_TEST_MODULE row_binary
#include <boost/test/unit_test.hpp>

#include "clickhouse_sink/row_binary.h"

using namespace streams_ch;

namespace {

Column column(std::string name, std::string_view type) {
  Column c;
  c.name = std::move(name);
  std::string why;
  BOOST_REQUIRE_MESSAGE(parse_type(type, &c.type, &why), why);
  return c;
}

std::vector<Column> columns(std::initializer_list<std::pair<const char*, const char*>> list) {
  std::vector<Column> out;
  for (auto [name, type] : list) out.push_back(column(name, type));
  return out;
}

// The row's bytes, or "!" and the reason.
std::string row(std::vector<Column> cols, std::string_view value) {
  RowBinaryEncoder encoder(std::move(cols));
  std::string out, why;
  return encoder.append(value, &out, &why) ? out : "!" + why;
}

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out.push_back(static_cast<char>(b));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(integers_little_endian_and_in_range) {
  auto cols = columns({{"a", "UInt32"}, {"b", "Int16"}, {"c", "UInt8"}});
  BOOST_TEST(row(cols, R"({"a": 258, "b": -2, "c": 255})") ==
             bytes({2, 1, 0, 0, 0xfe, 0xff, 0xff}));
  BOOST_TEST(row(cols, R"({"a": 1.0, "b": 0, "c": 0})") == bytes({1, 0, 0, 0, 0, 0, 0}));
  BOOST_TEST(row(columns({{"c", "UInt8"}}), R"({"c": 256})") ==
             "!column c: expected UInt8, got 256");
  BOOST_TEST(row(columns({{"a", "UInt32"}}), R"({"a": -1})") ==
             "!column a: expected UInt32, got -1");
  BOOST_TEST(row(columns({{"b", "Int16"}}), R"({"b": 1.5})") ==
             "!column b: expected Int16, got 1.5");
  BOOST_TEST(row(columns({{"b", "Int64"}}), R"({"b": "7"})") ==
             "!column b: expected Int64, got \"7\"");
  BOOST_TEST(row(columns({{"u", "UInt64"}}), R"({"u": 18446744073709551615})") ==
             bytes({-1, -1, -1, -1, -1, -1, -1, -1}));
  // Integral doubles just past a range are refused, not wrapped.
  BOOST_TEST(row(columns({{"u", "UInt64"}}), R"({"u": 18446744073709551616.0})")[0] == '!');
  BOOST_TEST(row(columns({{"i", "Int64"}}), R"({"i": 9223372036854775808.0})")[0] == '!');
  BOOST_TEST(row(columns({{"i", "Int64"}}), R"({"i": -9223372036854775808.0})") ==
             bytes({0, 0, 0, 0, 0, 0, 0, -128}));
  BOOST_TEST(row(columns({{"i", "Int8"}}), R"({"i": -129.0})")[0] == '!');
}

BOOST_AUTO_TEST_CASE(strings_floats_dates_and_arrays) {
  BOOST_TEST(row(columns({{"s", "String"}}), R"({"s": "hé"})") == bytes({3, 'h', 0xc3, 0xa9}));
  BOOST_TEST(row(columns({{"f", "FixedString(4)"}}), R"({"f": "ab"})") == bytes({'a', 'b', 0, 0}));
  BOOST_TEST(row(columns({{"f", "FixedString(1)"}}), R"({"f": "ab"})") ==
             "!column f: expected FixedString(1), got \"ab\"");
  BOOST_TEST(row(columns({{"x", "Float64"}}), R"({"x": 1})") ==
             bytes({0, 0, 0, 0, 0, 0, 0xf0, 0x3f}));
  BOOST_TEST(row(columns({{"x", "Float32"}}), R"({"x": -2.0})") == bytes({0, 0, 0, 0xc0}));
  BOOST_TEST(row(columns({{"d", "Date"}}), R"({"d": "1970-01-11"})") == bytes({10, 0}));
  BOOST_TEST(row(columns({{"d", "Date"}}), R"({"d": 300})") == bytes({44, 1}));
  BOOST_TEST(row(columns({{"d", "Date"}}), R"({"d": "1969-12-31"})") ==
             "!column d: expected Date, got \"1969-12-31\"");
  BOOST_TEST(row(columns({{"t", "DateTime('UTC')"}}), R"({"t": 1846062325})") ==
             bytes({0xf5, 0xac, 0x08, 0x6e}));
  BOOST_TEST(row(columns({{"v", "Array(Float64)"}}), R"({"v": [1, 2]})") ==
             bytes({2, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0x40}));
  BOOST_TEST(row(columns({{"v", "Array(UInt8)"}}), R"({"v": [1, "x"]})") ==
             "!column v: expected UInt8, got \"x\"");
  BOOST_TEST(row(columns({{"s", "LowCardinality(String)"}}), R"({"s": "a"})") == bytes({1, 'a'}));
}

BOOST_AUTO_TEST_CASE(nulls_missing_keys_and_unknown_keys) {
  auto cols = columns({{"n", "Nullable(UInt8)"},
                       {"m", "UInt16"},
                       {"s", "String"},
                       {"a", "Array(Nullable(String))"}});
  // Missing: NULL for Nullable, zero otherwise; an unknown key is skipped.
  BOOST_TEST(row(cols, R"({"other": 1})") == bytes({1, 0, 0, 0, 0}));
  BOOST_TEST(row(cols, R"({"n": null, "m": 1, "s": "", "a": [null, "b"]})") ==
             bytes({1, 1, 0, 0, 2, 1, 0, 1, 'b'}));
  BOOST_TEST(row(cols, R"({"n": 7})") == bytes({0, 7, 0, 0, 0, 0}));
  BOOST_TEST(row(columns({{"m", "UInt16"}}), R"({"m": null})") ==
             "!column m: expected UInt16, got null");
  BOOST_TEST(row(cols, "[1]") == "!the record's value is not a JSON object");
  BOOST_TEST(row(cols, "{bad") == "!the record's value is not JSON");
}

BOOST_AUTO_TEST_CASE(a_failed_row_appends_nothing) {
  RowBinaryEncoder encoder(columns({{"a", "UInt8"}, {"b", "UInt8"}}));
  std::string out = "x", why;
  BOOST_TEST(!encoder.append(R"({"a": 1, "b": 300})", &out, &why));
  BOOST_TEST(out == "x");
  BOOST_TEST(encoder.append(R"({"a": 1, "b": 2})", &out, &why));
  BOOST_TEST(out == "x" + bytes({1, 2}));
}

// Fields are matched to columns in one pass over the row: in any order,
// the first of a repeated key counting, among many columns whose names
// share lengths and letters (slots of the name table collide).
BOOST_AUTO_TEST_CASE(fields_in_any_order_find_their_columns_among_many) {
  std::vector<Column> cols;
  std::string value = "{", expected;
  for (int i = 0; i < 40; ++i) {
    const std::string name = (i % 2 ? "a" : "b") + std::to_string(i % 10) + "x" + std::to_string(i);
    cols.push_back(column(name, "UInt8"));
    expected.push_back(static_cast<char>(i));
  }
  for (int i = 39; i >= 0; --i) {  // reversed, with an unknown key between each
    value += "\"" + cols[static_cast<size_t>(i)].name + "\": " + std::to_string(i) + ", ";
    value += "\"zz" + std::to_string(i) + "\": {\"" + cols[0].name + "\": 200}, ";
  }
  value += "\"" + cols[5].name + "\": 250}";  // repeated: the first one counts
  RowBinaryEncoder encoder(cols);
  std::string out, why;
  for (int row = 0; row < 3; ++row) {  // a row's marks do not leak into the next
    BOOST_REQUIRE_MESSAGE(encoder.append(value, &out, &why), why);
  }
  BOOST_TEST(out == expected + expected + expected);
  out.clear();
  BOOST_REQUIRE(encoder.append("{\"" + cols[3].name + "\": 9}", &out, &why));
  std::string zeros(40, '\0');
  zeros[3] = 9;
  BOOST_TEST(out == zeros);  // the other columns are missing now, not last row's
}

// A long string grows the row's buffer past its first size.
BOOST_AUTO_TEST_CASE(a_long_string_is_written_whole) {
  const std::string s(100000, 'q');
  std::string expected = bytes({0xa0, 0x8d, 0x06}) + s + bytes({7});
  BOOST_TEST(row(columns({{"s", "String"}, {"n", "UInt8"}}), "{\"n\": 7, \"s\": \"" + s + "\"}") ==
             expected);
}

BOOST_AUTO_TEST_CASE(types_it_does_not_write_are_named) {
  ColumnType t;
  std::string why;
  BOOST_TEST(!parse_type("Decimal(9, 2)", &t, &why));
  BOOST_TEST(why.find("Decimal(9, 2)") != std::string::npos, why);
  BOOST_TEST(!parse_type("Array(Enum8('a' = 1))", &t, &why));
  BOOST_TEST(why.find("Enum8('a' = 1)") != std::string::npos, why);
  BOOST_TEST(parse_type(" Nullable(FixedString(16)) ", &t, &why));
  BOOST_TEST(t.kind == ColumnType::nullable);
  BOOST_TEST(t.inner->kind == ColumnType::fixed_string);
  BOOST_TEST(t.inner->bytes == 16);
}

BOOST_AUTO_TEST_CASE(describe_gives_the_columns_an_insert_writes) {
  // ClickHouse 18.16's DESCRIBE TABLE ... FORMAT TabSeparated: name, type,
  // default kind, default expression (newer versions add more fields).
  const std::string tsv =
      "org_id\tUInt32\t\t\n"
      "name\tLowCardinality(String)\tDEFAULT\t\\'x\\'\n"
      "total\tUInt64\tMATERIALIZED\torg_id * 2\n"
      "alias\tString\tALIAS\tname\n"
      "tab\\tbed\tArray(Nullable(Int8))\t\t\t\t\t\n";
  std::vector<Column> cols;
  std::string why;
  BOOST_REQUIRE_MESSAGE(parse_describe(tsv, &cols, &why), why);
  BOOST_REQUIRE_EQUAL(cols.size(), 3u);
  BOOST_TEST(cols[0].name == "org_id");
  BOOST_TEST(cols[1].name == "name");
  BOOST_TEST(cols[2].name == "tab\tbed");
  BOOST_TEST(cols[2].type.kind == ColumnType::array);
  BOOST_TEST(column_list(cols) == "(`org_id`, `name`, `tab\tbed`)");
  Column odd;
  odd.name = "a`b\\c";
  BOOST_TEST(column_list({odd}) == "(`a\\`b\\\\c`)");
}

BOOST_AUTO_TEST_CASE(describe_refuses_a_type_it_cannot_write) {
  std::vector<Column> cols;
  std::string why;
  BOOST_TEST(!parse_describe("a\tUInt8\t\t\nprice\tDecimal(9, 2)\t\t\n", &cols, &why));
  BOOST_TEST(why.find("column price: column type Decimal(9, 2)") == 0, why);
  BOOST_TEST(!parse_describe("", &cols, &why));
  BOOST_TEST(why == "DESCRIBE TABLE answered no columns to write");
  BOOST_TEST(!parse_describe("just a name\n", &cols, &why));
  BOOST_TEST(why.find("without a type") != std::string::npos, why);
}
