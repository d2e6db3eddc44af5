// JSON records to rows of PostgreSQL's COPY text format: one column per
// configured field. Shared by the PostgreSQL sink and its unit test.
//
// A column takes a field by dotted path ("tags.env", "value.0": array
// index), or a record attribute: _value (the whole value, as text: JSON for
// a json/jsonb column), _key, _topic, _partition, _offset, _timestamp (ms).
// Strings go as their text, numbers and booleans as JSON writes them,
// objects and arrays as minified JSON; a missing field or JSON null is NULL.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace streams_pg {

struct Column {
  std::string name;               // the table's column
  std::string field;              // as configured
  std::vector<std::string> path;  // field split on '.'; empty for an attribute
  enum Source { field_path, value, key, topic, partition, offset, timestamp } source = field_path;
};

// Parses `field` ("a.b", "_offset", ...) into a column called `name`.
Column make_column(std::string name, std::string field);

// Where a record came from, for the attribute columns.
struct RecordMeta {
  std::string_view key;
  bool has_key = false;
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;
};

class RowEncoder {
 public:
  explicit RowEncoder(std::vector<Column> columns);
  // Appends one COPY text line for `value` (a JSON object) to *out. False,
  // with *why, when `value` is not JSON or not an object (nothing appended).
  bool append(std::string_view value, const RecordMeta& meta, std::string* out, std::string* why);
  const std::vector<Column>& columns() const { return columns_; }

 private:
  // Appends `text` escaped for COPY's text format.
  static void escape(std::string_view text, std::string* out);
  void field(simdjson::dom::element root, const Column& c, std::string* out);

  std::vector<Column> columns_;
  simdjson::dom::parser parser_;
  std::string padded_;  // the value with simdjson's padding, reused
  std::string scratch_;
};

}  // namespace streams_pg
