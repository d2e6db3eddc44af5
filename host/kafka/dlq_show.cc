#include "kafka/dlq_show.h"

#include <cstdio>
#include <map>
#include <string_view>

#include "common/clock.h"
#include "common/utf8.h"
#include "pipeline/dead_letters.h"

namespace streams::kafka {
namespace {

namespace hdr = pipeline::dlq_header;
constexpr size_t kPreviewBytes = 60;

std::string json_quoted(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string preview(const rd_kafka_message_t& msg) {
  const std::string_view value(static_cast<const char*>(msg.payload), msg.payload ? msg.len : 0);
  if (!msg.payload) return "null";
  if (value.size() <= kPreviewBytes) return json_quoted(value);
  return json_quoted(value.substr(0, kPreviewBytes)) + "... (" + std::to_string(value.size()) +
         " bytes)";
}

std::string header_or(const HeaderList& headers, const char* name, const char* fallback) {
  const std::string* v = find_header(headers, name);
  return v ? *v : fallback;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

int64_t number_or(const std::string* text, int64_t fallback) {
  if (!text) return fallback;
  try {
    return std::stoll(*text);
  } catch (const std::exception&) {
    return fallback;
  }
}

// The value as JSON: text when it is UTF-8, else hex under `name`_hex.
void put_bytes(nlohmann::json& out, const char* name, const void* data, size_t size) {
  if (!data) {
    out[name] = nullptr;
    return;
  }
  const std::string_view bytes(static_cast<const char*>(data), size);
  if (is_valid_utf8(bytes)) {
    out[name] = std::string(bytes);
    return;
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : bytes) hex += {kHex[c >> 4], kHex[c & 15]};
  out[std::string(name) + "_hex"] = hex;
}

struct Counts {
  uint64_t read = 0, shown = 0, other = 0;
  std::map<std::pair<std::string, std::string>, uint64_t> by_step_kind;
};

std::string summary(const Counts& c, const ShowOptions& o) {
  std::string text = std::to_string(c.read) + " dead-letter record(s) in " + o.source.topic +
                     (o.source.group.empty() ? "" : " after group " + o.source.group) + ", shown " +
                     std::to_string(c.shown);
  std::string counts;
  for (const auto& [key, n] : c.by_step_kind) {
    counts += (counts.empty() ? ": " : ", ") +
              (key.first.empty() ? std::string("no error headers")
                                 : "step '" + key.first + "' " + key.second) +
              " " + std::to_string(n);
  }
  text += counts;
  if (c.other) text += "; " + std::to_string(c.other) + " of other kinds or steps";
  return text;
}

}  // namespace

std::string describe_dead_letter(const std::string& dlq_topic, const rd_kafka_message_t& msg,
                                 const HeaderList& headers) {
  std::string line =
      dlq_topic + "[" + std::to_string(msg.partition) + "]@" + std::to_string(msg.offset) + "  ";
  const std::string* topic = find_header(headers, hdr::kTopic);
  const std::string* kind = find_header(headers, hdr::kKind);
  if (!topic || !kind) return line + "(no error headers)  value " + preview(msg);
  const std::string record = header_or(headers, hdr::kRecord, "input");
  line += "from " + *topic + "[" + header_or(headers, hdr::kPartition, "?") + "]@" +
          header_or(headers, hdr::kOffset, "?") + (record == "input" ? "" : " (" + record + ")") +
          "  step " + header_or(headers, hdr::kStep, "?") + "  " + *kind;
  const int64_t time = number_or(find_header(headers, hdr::kTime), -1);
  if (time >= 0) line += "  " + iso_utc(time);
  line += "  " + json_quoted(first_line(header_or(headers, hdr::kMessage, "")));
  if (const std::string* omitted = find_header(headers, hdr::kValueOmitted)) {
    return line + "  value omitted (" + *omitted +
           " bytes: " + header_or(headers, hdr::kOmittedBecause, "?") + ")";
  }
  return line + "  value " + preview(msg);
}

nlohmann::json dead_letter_json(const rd_kafka_message_t& msg, const HeaderList& headers) {
  nlohmann::json out = {{"dlq_partition", msg.partition}, {"dlq_offset", msg.offset}};
  nlohmann::json own = nlohmann::json::object();
  for (const auto& [name, value] : headers) {
    const std::string_view n(name);
    if (n.substr(0, hdr::kPrefix.size()) != hdr::kPrefix) {
      put_bytes(own, name.c_str(), value.data(), value.size());
      continue;
    }
    const std::string field(n.substr(hdr::kPrefix.size()));
    if (field == "partition" || field == "offset" || field == "time_ms") {
      out[field] = number_or(&value, -1);
    } else {
      out[field] = value;
    }
  }
  put_bytes(out, "key", msg.key, msg.key_len);
  put_bytes(out, "value", msg.payload, msg.len);
  out["headers"] = std::move(own);
  return out;
}

int show_dead_letters(const ShowOptions& o, const std::atomic<bool>& stop) {
  std::string error;
  std::unique_ptr<DlqReader> reader = DlqReader::open(o.source, &error);
  if (!reader) {
    std::fprintf(stderr, "error: %s\n", error.c_str());
    return 2;
  }
  if (!reader->start(&error)) {
    std::fprintf(stderr, "error: %s\n", error.c_str());
    return 1;
  }
  Counts counts;
  const bool ok = reader->read(
      stop,
      [&](const rd_kafka_message_t& msg, const HeaderList& headers, std::string*) {
        ++counts.read;
        const std::string* kind = find_header(headers, hdr::kKind);
        const std::string* step = find_header(headers, hdr::kStep);
        if (!listed(o.kinds, kind) || !listed(o.steps, step)) {
          ++counts.other;
          return true;
        }
        ++counts.by_step_kind[{step ? *step : "", kind ? *kind : ""}];
        if (o.limit != 0 && counts.shown >= o.limit) return true;
        ++counts.shown;
        const std::string line =
            o.json ? dead_letter_json(msg, headers)
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                   : describe_dead_letter(o.source.topic, msg, headers);
        std::printf("%s\n", line.c_str());
        return true;
      },
      nullptr, &error);
  reader.reset();
  std::fprintf(o.json ? stderr : stdout, "%s\n", summary(counts, o).c_str());
  std::fflush(stdout);
  if (ok) return 0;
  std::fprintf(stderr, "error: %s\n", error.c_str());
  return 1;
}

}  // namespace streams::kafka
