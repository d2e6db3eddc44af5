#include "row_binary.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace streams_ch {
namespace {

bool wrapped(std::string_view text, std::string_view name, std::string_view* inner) {
  if (text.size() < name.size() + 2 || text.substr(0, name.size()) != name ||
      text[name.size()] != '(' || text.back() != ')') {
    return false;
  }
  *inner = text.substr(name.size() + 1, text.size() - name.size() - 2);
  return true;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// The value a missing key writes: NULL for Nullable, else the type's zero.
void put_zero(const ColumnType& t, RowBuffer* out) {
  switch (t.kind) {
    case ColumnType::nullable:
      return out->put_byte(1);
    case ColumnType::string:
    case ColumnType::array:
      return out->put_byte(0);  // length 0
    case ColumnType::date:
      return out->put_le(0, 2);
    case ColumnType::date_time:
      return out->put_le(0, 4);
    default:  // numbers, fixed_string
      out->put_zeros(static_cast<size_t>(t.bytes));
  }
}

// A key's slot in RowBinaryEncoder::by_name_ (masked by the caller).
size_t key_hash(std::string_view key) {
  size_t h = key.size();
  if (!key.empty())
    h = h * 131 + static_cast<unsigned char>(key.front()) * 31 +
        static_cast<unsigned char>(key.back());
  if (key.size() > 2) h = h * 131 + static_cast<unsigned char>(key[key.size() / 2]);
  return h;
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// "YYYY-MM-DD" to days since the epoch; false when it is not such a date.
bool parse_date(std::string_view s, int64_t* days) {
  int y = 0, m = 0, d = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  auto num = [&](size_t at, size_t len, int* v) {
    auto [p, ec] = std::from_chars(s.data() + at, s.data() + at + len, *v);
    return ec == std::errc() && p == s.data() + at + len;
  };
  if (!num(0, 4, &y) || !num(5, 2, &m) || !num(8, 2, &d)) return false;
  if (m < 1 || m > 12 || d < 1 || d > 31) return false;
  *days = days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return true;
}

// The JSON number `e` as an integer in [lo, hi]; false when it is not a
// number, not integral or out of range.
bool integer_in(simdjson::dom::element e, int64_t lo, uint64_t hi, uint64_t* bits) {
  switch (e.type()) {
    case simdjson::dom::element_type::INT64: {
      const int64_t v = e.get_int64().value_unsafe();
      if (v < lo || (v > 0 && static_cast<uint64_t>(v) > hi)) return false;
      *bits = static_cast<uint64_t>(v);
      return true;
    }
    case simdjson::dom::element_type::UINT64: {
      const uint64_t v = e.get_uint64().value_unsafe();
      if (v > hi) return false;
      *bits = v;
      return true;
    }
    case simdjson::dom::element_type::DOUBLE: {
      const double v = e.get_double().value_unsafe();
      if (std::trunc(v) != v) return false;
      if (v < 0) {  // lo is -2^k or 0: exact as a double
        if (v < static_cast<double>(lo)) return false;
        *bits = static_cast<uint64_t>(static_cast<int64_t>(v));
        return true;
      }
      if (!(v < 18446744073709551616.0)) return false;  // 2^64: the cast below is defined
      const auto u = static_cast<uint64_t>(v);
      if (u > hi) return false;
      *bits = u;
      return true;
    }
    default:
      return false;
  }
}

// The types without parameters, as DESCRIBE TABLE names them.
struct PlainType {
  const char* name;
  ColumnType::Kind kind;
  int bytes;
};
constexpr PlainType kPlainTypes[] = {
    {"Int8", ColumnType::int_, 1},         {"Int16", ColumnType::int_, 2},
    {"Int32", ColumnType::int_, 4},        {"Int64", ColumnType::int_, 8},
    {"UInt8", ColumnType::uint_, 1},       {"UInt16", ColumnType::uint_, 2},
    {"UInt32", ColumnType::uint_, 4},      {"UInt64", ColumnType::uint_, 8},
    {"Float32", ColumnType::float_, 4},    {"Float64", ColumnType::float_, 8},
    {"String", ColumnType::string, 0},     {"Date", ColumnType::date, 2},
    {"DateTime", ColumnType::date_time, 4}};

std::string type_name(const ColumnType& t) {
  switch (t.kind) {
    case ColumnType::fixed_string:
      return "FixedString(" + std::to_string(t.bytes) + ")";
    case ColumnType::nullable:
      return "Nullable(" + type_name(*t.inner) + ")";
    case ColumnType::array:
      return "Array(" + type_name(*t.inner) + ")";
    default:
      for (const PlainType& p : kPlainTypes) {
        if (p.kind == t.kind && p.bytes == t.bytes) return p.name;
      }
      return "?";
  }
}

}  // namespace

void RowBuffer::put(const char* p, size_t n) {
  if (n == 0) return;
  std::memcpy(room(n), p, n);
  size_ += n;
}

void RowBuffer::put_le(uint64_t v, int bytes) {
  char* p = room(8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  std::memcpy(p, &v, 8);  // the first `bytes` of them count
#else
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
#endif
  size_ += static_cast<size_t>(bytes);
}

void RowBuffer::put_varint(uint64_t v) {
  char* p = room(10);
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  p[n++] = static_cast<char>(v);
  size_ += n;
}

void RowBuffer::put_zeros(size_t n) {
  std::memset(room(n), 0, n);
  size_ += n;
}

bool parse_type(std::string_view text, ColumnType* out, std::string* why) {
  text = trimmed(text);
  std::string_view inner;
  if (wrapped(text, "LowCardinality", &inner)) return parse_type(inner, out, why);
  for (auto [name, kind] :
       {std::pair{"Nullable", ColumnType::nullable}, std::pair{"Array", ColumnType::array}}) {
    if (wrapped(text, name, &inner)) {
      out->kind = kind;
      out->inner = std::make_shared<ColumnType>();
      return parse_type(inner, out->inner.get(), why);
    }
  }
  if (wrapped(text, "FixedString", &inner)) {
    inner = trimmed(inner);
    int n = 0;
    auto [p, ec] = std::from_chars(inner.data(), inner.data() + inner.size(), n);
    if (ec == std::errc() && p == inner.data() + inner.size() && n > 0) {
      out->kind = ColumnType::fixed_string;
      out->bytes = n;
      return true;
    }
  }
  for (const auto& p : kPlainTypes) {
    if (text == p.name || (p.kind == ColumnType::date_time && wrapped(text, p.name, &inner))) {
      out->kind = p.kind;
      out->bytes = p.bytes;
      return true;
    }
  }
  *why = "column type " + std::string(text) +
         " is not one RowBinary is written for here (integers, floats, String, FixedString, "
         "Date, DateTime, Nullable, Array, LowCardinality)";
  return false;
}

RowBinaryEncoder::RowBinaryEncoder(std::vector<Column> columns)
    : columns_(std::move(columns)), fields_(columns_.size()), seen_(columns_.size(), 0) {
  size_t slots = 8;
  while (slots < 2 * columns_.size()) slots *= 2;
  by_name_.assign(slots, 0);
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (column_of(columns_[i].name) >= 0) continue;  // ClickHouse refuses repeated names
    size_t at = key_hash(columns_[i].name) & (slots - 1);
    while (by_name_[at] != 0) at = (at + 1) & (slots - 1);
    by_name_[at] = static_cast<uint32_t>(i + 1);
  }
}

int RowBinaryEncoder::column_of(std::string_view key) const {
  const size_t mask = by_name_.size() - 1;
  for (size_t at = key_hash(key) & mask; by_name_[at] != 0; at = (at + 1) & mask) {
    const uint32_t i = by_name_[at] - 1;
    if (columns_[i].name == key) return static_cast<int>(i);
  }
  return -1;
}

bool RowBinaryEncoder::encode(simdjson::dom::element e, const ColumnType& t, std::string* why) {
  RowBuffer* out = &row_;
  if (t.kind == ColumnType::nullable) {
    if (e.is_null()) {
      out->put_byte(1);
      return true;
    }
    out->put_byte(0);
    return encode(e, *t.inner, why);
  }
  uint64_t bits = 0;
  switch (t.kind) {
    case ColumnType::int_: {
      const int shift = t.bytes * 8 - 1;
      const int64_t lo =
          t.bytes == 8 ? std::numeric_limits<int64_t>::min() : -(int64_t{1} << shift);
      const uint64_t hi = (uint64_t{1} << shift) - 1;
      if (!integer_in(e, lo, hi, &bits)) break;
      out->put_le(bits, t.bytes);
      return true;
    }
    case ColumnType::uint_: {
      const uint64_t hi =
          t.bytes == 8 ? std::numeric_limits<uint64_t>::max() : (uint64_t{1} << (t.bytes * 8)) - 1;
      if (!integer_in(e, 0, hi, &bits)) break;
      out->put_le(bits, t.bytes);
      return true;
    }
    case ColumnType::float_: {
      double v = 0;
      if (e.get_double().get(v) != simdjson::SUCCESS) break;  // any JSON number
      if (t.bytes == 4) {
        const float f = static_cast<float>(v);
        uint32_t u;
        std::memcpy(&u, &f, 4);
        out->put_le(u, 4);
      } else {
        std::memcpy(&bits, &v, 8);
        out->put_le(bits, 8);
      }
      return true;
    }
    case ColumnType::string: {
      std::string_view s;
      if (e.get_string().get(s) != simdjson::SUCCESS) break;
      out->put_varint(s.size());
      out->put(s.data(), s.size());
      return true;
    }
    case ColumnType::fixed_string: {
      std::string_view s;
      if (e.get_string().get(s) != simdjson::SUCCESS || s.size() > static_cast<size_t>(t.bytes)) {
        break;
      }
      out->put(s.data(), s.size());
      out->put_zeros(static_cast<size_t>(t.bytes) - s.size());
      return true;
    }
    case ColumnType::date: {
      std::string_view s;
      int64_t days = 0;
      if (e.get_string().get(s) == simdjson::SUCCESS) {
        if (!parse_date(s, &days) || days < 0 || days > 65535) break;
        bits = static_cast<uint64_t>(days);
      } else if (!integer_in(e, 0, 65535, &bits)) {
        break;
      }
      out->put_le(bits, 2);
      return true;
    }
    case ColumnType::date_time:
      if (!integer_in(e, 0, 0xffffffffu, &bits)) break;
      out->put_le(bits, 4);
      return true;
    case ColumnType::array: {
      simdjson::dom::array a;
      if (e.get_array().get(a) != simdjson::SUCCESS) break;
      out->put_varint(a.size());
      for (simdjson::dom::element item : a) {
        if (!encode(item, *t.inner, why)) return false;
      }
      return true;
    }
    case ColumnType::nullable:
      break;  // handled above
  }
  if (why->empty()) {
    *why = "expected " + type_name(t) + ", got " + std::string(simdjson::minify(e)).substr(0, 80);
  }
  return false;
}

namespace {

// A TabSeparated field with its backslash escapes (\t, \n, \\...) undone.
std::string unescaped(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\' || i + 1 == field.size()) {
      out.push_back(field[i]);
      continue;
    }
    const char c = field[++i];
    out.push_back(c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == '0' ? '\0' : c);
  }
  return out;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  for (size_t at = 0;;) {
    const size_t end = text.find(sep, at);
    out.push_back(
        text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
    if (end == std::string_view::npos) return out;
    at = end + 1;
  }
}

}  // namespace

bool parse_describe(std::string_view tsv, std::vector<Column>* out, std::string* why) {
  out->clear();
  for (std::string_view line : split(tsv, '\n')) {
    if (line.empty()) continue;
    const std::vector<std::string_view> fields = split(line, '\t');
    if (fields.size() < 2) {
      *why = "DESCRIBE TABLE answered a line without a type: " + std::string(line.substr(0, 80));
      return false;
    }
    const std::string kind = fields.size() > 2 ? unescaped(fields[2]) : "";
    if (kind == "MATERIALIZED" || kind == "ALIAS") continue;  // not written by an INSERT
    Column c;
    c.name = unescaped(fields[0]);
    const std::string type = unescaped(fields[1]);
    if (!parse_type(type, &c.type, why)) {
      *why = "column " + c.name + ": " + *why;
      return false;
    }
    out->push_back(std::move(c));
  }
  if (out->empty()) *why = "DESCRIBE TABLE answered no columns to write";
  return !out->empty();
}

std::string column_list(const std::vector<Column>& columns) {
  std::string out = "(";
  for (const Column& c : columns) {
    if (out.size() > 1) out += ", ";
    out.push_back('`');
    for (char ch : c.name) {
      if (ch == '`' || ch == '\\') out.push_back('\\');
      out.push_back(ch);
    }
    out.push_back('`');
  }
  return out + ")";
}

bool RowBinaryEncoder::append(std::string_view value, std::string* out, std::string* why) {
  padded_.assign(value);
  padded_.resize(value.size() + simdjson::SIMDJSON_PADDING);
  simdjson::dom::element root;
  if (parser_.parse(padded_.data(), value.size(), false).get(root) != simdjson::SUCCESS) {
    *why = "the record's value is not JSON";
    return false;
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    *why = "the record's value is not a JSON object";
    return false;
  }
  // One pass over the fields (the first of a repeated key counts, as
  // at_key finds it), then the columns in their order.
  if (++row_number_ == 0) {  // wrapped: no stale mark may match
    std::fill(seen_.begin(), seen_.end(), 0);
    row_number_ = 1;
  }
  for (simdjson::dom::key_value_pair field : object) {
    const int i = column_of(field.key);
    if (i < 0 || seen_[static_cast<size_t>(i)] == row_number_) continue;
    seen_[static_cast<size_t>(i)] = row_number_;
    fields_[static_cast<size_t>(i)] = field.value;
  }
  row_.clear();
  for (size_t i = 0; i < columns_.size(); ++i) {
    const Column& c = columns_[i];
    if (seen_[i] != row_number_) {
      put_zero(c.type, &row_);
      continue;
    }
    why->clear();
    if (!encode(fields_[i], c.type, why)) {
      *why = "column " + c.name + ": " + *why;
      return false;
    }
  }
  out->append(row_.view());
  return true;
}

}  // namespace streams_ch
