// JSON records to ClickHouse's RowBinary format, by the table's columns (as
// DESCRIBE TABLE names them): the host parses and encodes, where with
// JSONEachRow the server parses every row. Shared by the ClickHouse sink and
// its unit test.
//
// Each record's value is a JSON object whose keys name columns; keys the
// table lacks are skipped. Types: Int8-64, UInt8-64, Float32/64 (JSON
// numbers; an integer column takes an integral number in its range), String
// (a JSON string), FixedString(N) (a string of at most N bytes, padded with
// zero bytes), Date (days since 1970-01-01, or "YYYY-MM-DD"), DateTime
// (seconds since the epoch), Nullable(T) (null or a missing key: NULL),
// Array(T) (a JSON array), LowCardinality(T) (as T). A missing key of any
// other type writes the type's zero value, as JSONEachRow does without
// input_format_defaults_for_omitted_fields.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace streams_ch {

struct ColumnType {
  enum Kind { int_, uint_, float_, string, fixed_string, date, date_time, nullable, array };
  Kind kind = string;
  int bytes = 0;                      // int_, uint_, float_: its width; fixed_string: N
  std::shared_ptr<ColumnType> inner;  // nullable, array (shared: copies share it)
};

// Parses a type as DESCRIBE TABLE writes it ("Array(Nullable(UInt32))").
// False with *why naming the type when it is not one of those above.
bool parse_type(std::string_view text, ColumnType* out, std::string* why);

struct Column {
  std::string name;
  ColumnType type;
};

// The columns an INSERT writes, from `DESCRIBE TABLE ... FORMAT
// TabSeparated` (name, type, default kind, ...; TSV escapes undone),
// MATERIALIZED and ALIAS columns left out. False with *why naming the
// column when its type is not one of those above, or the text not such a
// description.
bool parse_describe(std::string_view tsv, std::vector<Column>* out, std::string* why);

// "(`a`, `b`)": the columns of an INSERT, quoted.
std::string column_list(const std::vector<Column>& columns);

// A row's bytes being built: a buffer reused from row to row, written
// through raw pointers (std::string's push_back and append are out-of-line
// calls; a row is dozens of small writes).
class RowBuffer {
 public:
  void clear() { size_ = 0; }
  // Room for n more bytes at size(); they count once commit(n) says so.
  char* room(size_t n) {
    if (buf_.size() - size_ < n) buf_.resize(std::max(2 * buf_.size(), size_ + n + 64));
    return &buf_[size_];
  }
  void commit(size_t n) { size_ += n; }
  void put(const char* p, size_t n);
  void put_byte(char c) {
    *room(1) = c;
    ++size_;
  }
  void put_le(uint64_t v, int bytes);
  void put_varint(uint64_t v);
  void put_zeros(size_t n);
  std::string_view view() const { return {buf_.data(), size_}; }

 private:
  std::string buf_;  // its size is the capacity; size_ bytes are the row
  size_t size_ = 0;
};

class RowBinaryEncoder {
 public:
  explicit RowBinaryEncoder(std::vector<Column> columns);
  // Appends `value`'s row to *out. False, with *why naming the column, when
  // `value` is not a JSON object or a field does not fit its column (nothing
  // appended).
  bool append(std::string_view value, std::string* out, std::string* why);
  const std::vector<Column>& columns() const { return columns_; }

 private:
  bool encode(simdjson::dom::element e, const ColumnType& t, std::string* why);
  // The column named `key`, or -1.
  int column_of(std::string_view key) const;

  std::vector<Column> columns_;
  // Open addressing by key_hash(name): column index + 1 (0: empty slot).
  std::vector<uint32_t> by_name_;
  simdjson::dom::parser parser_;
  std::string padded_;  // the value with simdjson's padding, reused
  RowBuffer row_;       // the row being built, reused
  // Per column: the row's field (valid when seen_[i] == row_number_).
  std::vector<simdjson::dom::element> fields_;
  std::vector<uint32_t> seen_;
  uint32_t row_number_ = 0;
};

}  // namespace streams_ch
