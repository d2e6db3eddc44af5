// The ClickHouse sink: each batch is one INSERT ... FORMAT JSONEachRow over
// ClickHouse's HTTP interface (libcurl's multi interface: requests run
// while the processing thread goes on). Each record's value is a JSON
// object whose keys name the table's columns; keys the table lacks are
// skipped (input_format_skip_unknown_fields).
//
//   - kind: sink
//     name: events
//     plugin: clickhouse_sink
//     config:
//       url: http://clickhouse:8123     # the HTTP interface
//       table: events                   # or db.events
//       user: default                   # X-ClickHouse-User (default: none sent)
//       password: ${envvar:CH_PASSWORD} # X-ClickHouse-Key (in the deployment's config)
//       timeout_ms: 10000
//       tls: {ca_file: ..., verify: true}
//
// Outcomes: 200 written. An exception whose code says the data cannot be
// read (a value of the wrong type, JSON that is not an object...) refuses
// the batch: the host halves it until the refused rows stand alone and
// dead-letters them with ClickHouse's message. Anything else (connection
// refused, timeouts, a server error, a missing table) is retried with the
// host's backoff. At-least-once: a replay inserts its rows again (a
// ReplacingMergeTree keyed on them makes that idempotent eventually).
#include <curl/curl.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include <streams/plugin.hpp>

#include "../http_common/http_batches.h"

namespace {

// ClickHouse error codes that a row's data causes (src/Common/ErrorCodes).
constexpr int kDataErrors[] = {
    6,    // CANNOT_PARSE_TEXT
    26,   // CANNOT_PARSE_QUOTED_STRING
    27,   // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    32,   // ATTEMPT_TO_READ_AFTER_EOF
    38,   // CANNOT_PARSE_DATE
    41,   // CANNOT_PARSE_DATETIME
    53,   // TYPE_MISMATCH
    69,   // ARGUMENT_OUT_OF_BOUND
    70,   // CANNOT_CONVERT_TYPE
    72,   // CANNOT_PARSE_NUMBER
    117,  // INCORRECT_DATA
    130,  // CANNOT_READ_ARRAY_FROM_TEXT
    469,  // VIOLATED_CONSTRAINT
};

// The "Code: N" an exception's text starts with; -1 when there is none.
int error_code(const std::string& body) {
  const size_t at = body.find("Code: ");
  return at == std::string::npos ? -1 : std::atoi(body.c_str() + at + 6);
}

// `db.table` with each part quoted in backticks.
std::string quoted_table(const std::string& table) {
  std::string out;
  size_t at = 0;
  for (;;) {
    const size_t dot = table.find('.', at);
    const std::string part =
        table.substr(at, dot == std::string::npos ? std::string::npos : dot - at);
    if (part.empty() || part.find('`') != std::string::npos) {
      throw std::runtime_error("config.table: expected TABLE or DATABASE.TABLE, got '" + table +
                               "'");
    }
    out += "`" + part + "`";
    if (dot == std::string::npos) return out;
    out += ".";
    at = dot + 1;
  }
}

class ClickHouseSink {
 public:
  explicit ClickHouseSink(const streams::InitContext& ctx)
      : batches_(streams_http::read_options(std::string(ctx.config_json()))) {
    const nlohmann::json j = nlohmann::json::parse(ctx.config_json());
    std::string base = streams_http::config_text(j, "url", true);
    if (base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0) {
      throw std::runtime_error("config.url: expected ClickHouse's http:// or https:// interface");
    }
    while (!base.empty() && base.back() == '/') base.pop_back();
    const std::string query = "INSERT INTO " +
                              quoted_table(streams_http::config_text(j, "table", true)) +
                              " FORMAT JSONEachRow";
    url_ = base +
           "/?input_format_skip_unknown_fields=1&query=" + streams_http::uri_encode(query, false);
    shown_ = base;
    headers_.push_back("Content-Type: application/x-ndjson");
    if (auto user = streams_http::config_text(j, "user", false); !user.empty()) {
      headers_.push_back("X-ClickHouse-User: " + user);
    }
    if (auto key = streams_http::config_text(j, "password", false); !key.empty()) {
      headers_.push_back("X-ClickHouse-Key: " + key);
    }
  }

  void write(const streams::SinkBatch& b, streams::SinkReports&) {
    std::string body;
    body.reserve(b.bytes() + b.size());
    for (size_t i = 0; i < b.size(); ++i) {
      body.append(b[i].value());
      body.push_back('\n');
    }
    batches_.start(b.id(), "POST", url_, std::move(body), headers_);
  }

  void poll(int timeout_ms, streams::SinkReports& reports) {
    batches_.poll(timeout_ms, [&](const streams_http::Response& r) {
      if (r.result != CURLE_OK) return (void)reports.retry(r.id, shown_ + ": " + r.error);
      if (r.status == 200) return (void)reports.written(r.id);
      std::string why =
          "ClickHouse " + shown_ + " (HTTP " + std::to_string(r.status) + "): " + r.body;
      while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
      const int code = error_code(r.body);
      if (std::find(std::begin(kDataErrors), std::end(kDataErrors), code) !=
          std::end(kDataErrors)) {
        reports.rejected(r.id, why);
      } else {
        reports.retry(r.id, why);
      }
    });
  }

 private:
  streams_http::Batches batches_;
  std::string url_;    // with the query
  std::string shown_;  // without it, for reasons
  std::vector<std::string> headers_;
};

}  // namespace

STREAMS_PLUGIN("clickhouse_sink", "1.0.0", streams::sink<ClickHouseSink>("clickhouse"))
