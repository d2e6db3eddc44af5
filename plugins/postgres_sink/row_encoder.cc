#include "row_encoder.h"

#include <charconv>

namespace streams_pg {

Column make_column(std::string name, std::string field) {
  Column c;
  c.name = std::move(name);
  c.field = std::move(field);
  static const struct {
    const char* name;
    Column::Source source;
  } attributes[] = {{"_value", Column::value},   {"_key", Column::key},
                    {"_topic", Column::topic},   {"_partition", Column::partition},
                    {"_offset", Column::offset}, {"_timestamp", Column::timestamp}};
  for (const auto& a : attributes) {
    if (c.field == a.name) {
      c.source = a.source;
      return c;
    }
  }
  size_t at = 0;
  for (;;) {
    const size_t dot = c.field.find('.', at);
    c.path.push_back(c.field.substr(at, dot == std::string::npos ? std::string::npos : dot - at));
    if (dot == std::string::npos) break;
    at = dot + 1;
  }
  return c;
}

RowEncoder::RowEncoder(std::vector<Column> columns) : columns_(std::move(columns)) {}

// Plain characters are appended in runs: one append a run, not a push_back
// a character.
void RowEncoder::escape(std::string_view text, std::string* out) {
  size_t run = 0;  // where the current run of plain characters starts
  for (size_t i = 0; i < text.size(); ++i) {
    const char* replacement;
    switch (text[i]) {
      case '\\':
        replacement = "\\\\";
        break;
      case '\n':
        replacement = "\\n";
        break;
      case '\r':
        replacement = "\\r";
        break;
      case '\t':
        replacement = "\\t";
        break;
      default:
        continue;
    }
    out->append(text.data() + run, i - run).append(replacement, 2);
    run = i + 1;
  }
  out->append(text.data() + run, text.size() - run);
}

namespace {

template <class T>
void append_number(T v, std::string* out) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out->append(buf, end);
}

// Appends `text` as a JSON string (quoted and escaped).
void json_string(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char ch = static_cast<unsigned char>(text[i]);
    if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
    out->append(text.data() + run, i - run);
    run = i + 1;
    switch (ch) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        out->append("\\u00").append(1, kHex[ch >> 4]).append(1, kHex[ch & 15]);
    }
  }
  out->append(text.data() + run, text.size() - run).push_back('"');
}

// Appends `e` as minified JSON (what simdjson::minify writes, without the
// string it allocates each time).
void json_text(simdjson::dom::element e, std::string* out) {
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: {
      out->push_back('[');
      bool first = true;
      simdjson::dom::array array;
      if (e.get_array().get(array) != simdjson::SUCCESS) return;  // never: e is an array
      for (simdjson::dom::element v : array) {
        if (!first) out->push_back(',');
        first = false;
        json_text(v, out);
      }
      return (void)out->push_back(']');
    }
    case simdjson::dom::element_type::OBJECT: {
      out->push_back('{');
      bool first = true;
      simdjson::dom::object object;
      if (e.get_object().get(object) != simdjson::SUCCESS) return;  // never: e is an object
      for (simdjson::dom::key_value_pair kv : object) {
        if (!first) out->push_back(',');
        first = false;
        json_string(kv.key, out);
        out->push_back(':');
        json_text(kv.value, out);
      }
      return (void)out->push_back('}');
    }
    case simdjson::dom::element_type::STRING:
      return json_string(std::string_view(e.get_string().value_unsafe()), out);
    case simdjson::dom::element_type::INT64:
      return append_number(int64_t(e.get_int64().value_unsafe()), out);
    case simdjson::dom::element_type::UINT64:
      return append_number(uint64_t(e.get_uint64().value_unsafe()), out);
    case simdjson::dom::element_type::DOUBLE: {
      char buf[32];  // as minify writes it ("1.0", "1e+16"): simdjson's own, public in its header
      const char* end = simdjson::internal::to_chars(buf, buf + sizeof buf,
                                                     double(e.get_double().value_unsafe()));
      return (void)out->append(buf, static_cast<size_t>(end - buf));
    }
    case simdjson::dom::element_type::BOOL:
      return (void)out->append(e.get_bool().value_unsafe() ? "true" : "false");
    case simdjson::dom::element_type::NULL_VALUE:
      return (void)out->append("null");
  }
}

}  // namespace

void RowEncoder::field(simdjson::dom::element root, const Column& c, std::string* out) {
  simdjson::dom::element e = root;
  for (const std::string& part : c.path) {
    simdjson::dom::element next;
    bool found = false;
    if (e.is_object()) {
      found = e.get_object().at_key(part).get(next) == simdjson::SUCCESS;
    } else if (e.is_array()) {
      size_t index = 0;
      auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), index);
      found = ec == std::errc() && p == part.data() + part.size() &&
              e.get_array().at(index).get(next) == simdjson::SUCCESS;
    }
    if (!found) return (void)out->append("\\N");
    e = next;
  }
  switch (e.type()) {
    case simdjson::dom::element_type::NULL_VALUE:
      return (void)out->append("\\N");
    case simdjson::dom::element_type::STRING:
      return escape(std::string_view(e.get_string().value_unsafe()), out);
    case simdjson::dom::element_type::INT64:
      return append_number(int64_t(e.get_int64().value_unsafe()), out);
    case simdjson::dom::element_type::UINT64:
      return append_number(uint64_t(e.get_uint64().value_unsafe()), out);
    case simdjson::dom::element_type::DOUBLE:
      return append_number(double(e.get_double().value_unsafe()), out);
    case simdjson::dom::element_type::BOOL:
      return (void)out->append(e.get_bool().value_unsafe() ? "true" : "false");
    default:  // object, array: JSON text
      scratch_.clear();
      json_text(e, &scratch_);
      return escape(scratch_, out);
  }
}

bool RowEncoder::append(std::string_view value, const RecordMeta& meta, std::string* out,
                        std::string* why) {
  padded_.assign(value);
  padded_.resize(value.size() + simdjson::SIMDJSON_PADDING);
  simdjson::dom::element root;
  if (parser_.parse(padded_.data(), value.size(), false).get(root) != simdjson::SUCCESS) {
    *why = "the record's value is not JSON";
    return false;
  }
  if (!root.is_object()) {
    *why = "the record's value is not a JSON object";
    return false;
  }
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (i) out->push_back('\t');
    const Column& c = columns_[i];
    switch (c.source) {
      case Column::field_path:
        field(root, c, out);
        break;
      case Column::value:
        escape(value, out);
        break;
      case Column::key:
        if (meta.has_key) {
          escape(meta.key, out);
        } else {
          out->append("\\N");
        }
        break;
      case Column::topic:
        escape(meta.topic, out);
        break;
      case Column::partition:
        append_number(meta.partition, out);
        break;
      case Column::offset:
        append_number(meta.offset, out);
        break;
      case Column::timestamp:
        if (meta.timestamp_ms < 0) {
          out->append("\\N");
        } else {
          append_number(meta.timestamp_ms, out);
        }
        break;
    }
  }
  out->push_back('\n');
  return true;
}

}  // namespace streams_pg
