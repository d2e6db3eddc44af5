// The PostgreSQL sink's rows (plugins/postgres_sink/row_encoder.h): JSON
// fields, array indexes and record attributes to COPY text lines.
#define BOOST_TEST_MODULE row_encoder
#include <boost/test/unit_test.hpp>

#include "postgres_sink/row_encoder.h"

using namespace streams_pg;

namespace {

std::string encode(std::vector<Column> columns, std::string_view value, bool* ok = nullptr,
                   std::string* why = nullptr) {
  RowEncoder encoder(std::move(columns));
  RecordMeta meta;
  meta.key = "k1";
  meta.has_key = true;
  meta.topic = "in";
  meta.partition = 3;
  meta.offset = 42;
  meta.timestamp_ms = 1700000000000;
  std::string out, reason;
  const bool done = encoder.append(value, meta, &out, &reason);
  if (ok) *ok = done;
  if (why) *why = reason;
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(fields_become_copy_text_columns) {
  const std::string line =
      encode({make_column("name", "name"), make_column("n", "value.1"),
              make_column("env", "tags.env"), make_column("ok", "ok"),
              make_column("missing", "nope"), make_column("nothing", "null_field"),
              make_column("tags", "tags"), make_column("ratio", "ratio")},
             R"({"name": "a\tb\\c\nd", "value": [1, -7], "tags": {"env": "prod"}, "ok": true,)"
             R"( "null_field": null, "ratio": 0.5})");
  BOOST_TEST(line == "a\\tb\\\\c\\nd\t-7\tprod\ttrue\t\\N\t\\N\t{\"env\":\"prod\"}\t0.5\n");
}

BOOST_AUTO_TEST_CASE(objects_and_arrays_are_written_as_simdjson_minifies_them) {
  const std::string doc =
      R"({"a": {"s": "q\"b\\s\u0001\b\f\n\r\t/é", "n": [1, -2, 18446744073709551615, 1.0, )"
      R"(0.5, 1e300, -1.5e-7, true, false, null, [], {}], "e": {"": [{"x": [[]]}]}}})";
  simdjson::dom::parser parser;
  const std::string minified = simdjson::minify(parser.parse(doc)["a"]);
  std::string copy_text;  // minified, escaped as COPY's text format wants it
  for (char ch : minified) {
    if (ch == '\\')
      copy_text += "\\\\";
    else if (ch == '\n')
      copy_text += "\\n";
    else
      copy_text += ch;
  }
  BOOST_TEST(encode({make_column("a", "a")}, doc) == copy_text + "\n");
  BOOST_TEST(minified.find("\\u0001") != std::string::npos);  // the test covers control characters
}

BOOST_AUTO_TEST_CASE(attributes_come_from_the_record) {
  const std::string line = encode(
      {make_column("k", "_key"), make_column("t", "_topic"), make_column("p", "_partition"),
       make_column("o", "_offset"), make_column("ts", "_timestamp"), make_column("doc", "_value")},
      R"({"a": 1})");
  BOOST_TEST(line == "k1\tin\t3\t42\t1700000000000\t{\"a\": 1}\n");
}

BOOST_AUTO_TEST_CASE(a_value_that_is_not_a_json_object_is_refused) {
  bool ok = true;
  std::string why;
  BOOST_TEST(encode({make_column("a", "a")}, "[1, 2]", &ok, &why).empty());
  BOOST_TEST(!ok);
  BOOST_TEST(why == "the record's value is not a JSON object");
  BOOST_TEST(encode({make_column("a", "a")}, "{broken", &ok, &why).empty());
  BOOST_TEST(!ok);
  BOOST_TEST(why == "the record's value is not JSON");
}
