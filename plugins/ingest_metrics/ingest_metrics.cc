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

// What the checks learned about a valid IngestMetric.
struct MetricInfo {
  std::string_view type;  // "c", "d" or "s"; points into the parser's buffer
  bool has_transformed = false;
};

bool is_integer(element e) { return e.is_int64() || e.is_uint64(); }

// Parses IngestMetric JSON with a reusable parser and padded buffer: no
// allocation per record once both have grown to the largest message seen.
class IngestMetricReader {
 public:
  // Parses and checks `json`. On failure returns false with *why set.
  bool read(std::string_view json, object* out, MetricInfo* info, const char** why) {
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
    return check(*out, info, why);
  }

 private:
  enum Field : unsigned {
    kOrgId = 1u << 0,
    kProjectId = 1u << 1,
    kTimestamp = 1u << 2,
    kRetention = 1u << 3,
    kName = 1u << 4,
    kType = 1u << 5,
    kTags = 1u << 6,
    kValue = 1u << 7,
    kAll = (1u << 8) - 1,
  };

  // One pass over the fields (profiling showed per-key lookups, each a scan
  // of the object, costing more than the parse itself).
  static bool check(object& metric, MetricInfo* info, const char** why) {
    unsigned seen = 0;
    for (auto field : metric) {
      const std::string_view key = field.key;
      const element value = field.value;
      if (key == "org_id" || key == "project_id" || key == "timestamp" || key == "retention_days") {
        if (!is_integer(value)) {
          *why = "org_id, project_id, timestamp and retention_days must be integers";
          return false;
        }
        seen |= key == "org_id"       ? kOrgId
                : key == "project_id" ? kProjectId
                : key == "timestamp"  ? kTimestamp
                                      : kRetention;
      } else if (key == "name") {
        if (!value.is_string()) return fail("field name must be a string", why);
        seen |= kName;
      } else if (key == "type") {
        std::string_view type;
        if (value.get_string().get(type) != simdjson::SUCCESS ||
            !(type == "c" || type == "d" || type == "s")) {
          return fail("field type must be one of \"c\", \"d\", \"s\"", why);
        }
        info->type = type;
        seen |= kType;
      } else if (key == "tags") {
        if (!value.is_object()) return fail("field tags must be an object", why);
        seen |= kTags;
      } else if (key == "value") {
        if (!(value.is_number() || value.is_array())) {
          return fail("field value must be a number or a list", why);
        }
        seen |= kValue;
      } else if (key == "transformed") {
        info->has_transformed = true;
      }
    }
    if (seen != kAll) {
      return fail(
          "missing field(s): needs org_id, project_id, name, type, timestamp, tags, "
          "value, retention_days",
          why);
    }
    return true;
  }

  static bool fail(const char* reason, const char** why) {
    *why = reason;
    return false;
  }

  simdjson::dom::parser parser_;
  std::vector<char> buffer_;
};

class IsCounter {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    object metric;
    MetricInfo info;
    const char* why = nullptr;
    if (!reader_.read(in.value(), &metric, &info, &why)) {
      return out.fail(streams::ErrorKind::invalid_input, why);
    }
    return info.type == "c" ? streams::Status::keep : streams::Status::drop;
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
    MetricInfo info;
    const char* why = nullptr;
    const std::string_view json = in.value();
    if (!reader_.read(json, &metric, &info, &why)) {
      return out.fail(streams::ErrorKind::invalid_input, why);
    }
    if (info.has_transformed) {
      rebuild(metric);
    } else {
      append_field(json);
    }
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
