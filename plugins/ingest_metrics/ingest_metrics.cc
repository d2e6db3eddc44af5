// The simple_map_filter example: IngestMetric JSON messages.
//   is_counter (filter): keeps messages whose "type" is "c".
//   transform  (map):    adds "transformed": true, every other field unchanged.
// A message that is not a valid IngestMetric is a per-record error
// (invalid_input), never a crash.
#include <simdjson.h>
#include <streams/plugin.hpp>

#include <cstring>
#include <string>
#include <vector>

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

// Parses IngestMetric JSON with a reusable parser and padded buffer: no
// allocation per record once both have grown to the largest message seen.
class IngestMetricReader {
 public:
  // Parses and checks `json`. On failure returns false with *why set.
  bool read(std::string_view json, object* out, const char** why) {
    buffer_.resize(json.size() + simdjson::SIMDJSON_PADDING);
    if (!json.empty()) std::memcpy(buffer_.data(), json.data(), json.size());
    element root;
    if (parser_.parse(buffer_.data(), json.size(), false).get(root) != simdjson::SUCCESS) {
      *why = "not valid JSON";
      return false;
    }
    if (root.get_object().get(*out) != simdjson::SUCCESS) {
      *why = "not a JSON object";
      return false;
    }
    return check(*out, why);
  }

 private:
  static bool check(object& metric, const char** why) {
    static const char* const kIntegers[] = {"org_id", "project_id", "timestamp", "retention_days"};
    for (const char* field : kIntegers) {
      element e;
      if (metric[field].get(e) != simdjson::SUCCESS || !(e.is_int64() || e.is_uint64())) {
        *why = "missing or non-integer field (org_id, project_id, timestamp, retention_days)";
        return false;
      }
    }
    std::string_view text;
    if (metric["name"].get_string().get(text) != simdjson::SUCCESS) {
      *why = "missing or non-string field: name";
      return false;
    }
    if (metric["type"].get_string().get(text) != simdjson::SUCCESS ||
        !(text == "c" || text == "d" || text == "s")) {
      *why = "field type must be one of \"c\", \"d\", \"s\"";
      return false;
    }
    object tags;
    if (metric["tags"].get_object().get(tags) != simdjson::SUCCESS) {
      *why = "missing or non-object field: tags";
      return false;
    }
    element value;
    if (metric["value"].get(value) != simdjson::SUCCESS ||
        !(value.is_number() || value.is_array())) {
      *why = "missing field value (a number or a list)";
      return false;
    }
    return true;
  }

  simdjson::dom::parser parser_;
  std::vector<char> buffer_;
};

class IsCounter {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    object metric;
    const char* why = nullptr;
    if (!reader_.read(in.value(), &metric, &why)) {
      return out.fail(streams::ErrorKind::invalid_input, why);
    }
    const std::string_view type = metric["type"].get_string().value_unsafe();  // checked by read
    return type == "c" ? streams::Status::keep : streams::Status::drop;
  }

 private:
  IngestMetricReader reader_;
};

void append_json_string(std::string& out, std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

class Transform {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    object metric;
    const char* why = nullptr;
    const std::string_view json = in.value();
    if (!reader_.read(json, &metric, &why)) {
      return out.fail(streams::ErrorKind::invalid_input, why);
    }
    element existing;
    if (metric["transformed"].get(existing) == simdjson::SUCCESS)
      rebuild(metric);
    else
      append_field(json);
    return out.emit_value(output_);
  }

 private:
  // Common case: the input bytes with the field inserted before the final
  // '}', so every other field stays byte-for-byte as it was.
  void append_field(std::string_view json) {
    const size_t close = json.rfind('}');
    output_.assign(json.substr(0, close));
    output_.append(",\"transformed\":true");
    output_.append(json.substr(close));
  }

  // Rare case: the input already has "transformed"; write it once.
  void rebuild(object& metric) {
    output_.assign("{");
    for (auto field : metric) {
      if (field.key == "transformed") continue;
      append_json_string(output_, field.key);
      output_.push_back(':');
      output_.append(simdjson::minify(field.value));
      output_.push_back(',');
    }
    output_.append("\"transformed\":true}");
  }

  IngestMetricReader reader_;
  std::string output_;  // reused across records
};

}  // namespace

STREAMS_PLUGIN("ingest_metrics", "1.0.0", streams::filter<IsCounter>("is_counter"),
               streams::map<Transform>("transform"))
