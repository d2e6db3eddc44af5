#include "ingest_metric.h"

#include <cstring>

namespace streams::ingest_metric {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

bool is_integer(element e) { return e.is_int64() || e.is_uint64(); }

bool fail(const char* reason, const char** why) {
  *why = reason;
  return false;
}

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
bool check(object& metric, MetricInfo* info, const char** why) {
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

}  // namespace

bool IngestMetricReader::read(std::string_view json, object* out, MetricInfo* info,
                              const char** why) {
  *info = MetricInfo{};  // the caller's may hold the last record's
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

std::string_view MetricWriter::transformed(std::string_view json, object& metric,
                                           const MetricInfo& info) {
  if (!info.has_transformed) {
    // Common case: the input bytes with the field inserted before the
    // final '}', so every other field stays byte-for-byte as it was.
    const size_t close = json.rfind('}');
    output_.assign(json.substr(0, close));
    output_.append(",\"transformed\":true");
    output_.append(json.substr(close));
    return output_;
  }
  // Rare case: the input already has "transformed"; write it once.
  output_.assign("{");
  for (auto field : metric) {
    if (field.key == "transformed") continue;
    append_json_string(output_, field.key);
    output_.push_back(':');
    output_.append(simdjson::minify(field.value));
    output_.push_back(',');
  }
  output_.append("\"transformed\":true}");
  return output_;
}

}  // namespace streams::ingest_metric
