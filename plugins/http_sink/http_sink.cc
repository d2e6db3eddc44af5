// The HTTP sink: each batch is one POST of its records' values, as NDJSON
// (a line a value) or a JSON array, over libcurl's multi interface, so a
// slow server never blocks the processing thread (one request per source
// partition in flight, as the host sends batches).
//
//   - kind: sink
//     name: events
//     plugin: http_sink
//     config:
//       url: http://collector:8080/ingest
//       format: ndjson            # or json_array
//       headers: {Authorization: "Bearer ${envvar:TOKEN}"}   (in the deployment's config)
//       timeout_ms: 10000
//       tls: {ca_file: /etc/ssl/ca.pem, cert_file: ..., key_file: ..., verify: true}
//
// Outcomes: 2xx written; a transport error, 408, 429 or 5xx a retry (the
// host backs off and sends the batch again; after a 429 or 503 with a
// Retry-After, once that time has passed, as a rate-limiting server asks:
// host ABI 1.13, at most 5 minutes); any other status refuses the
// batch, which the host halves until the refused records stand alone and
// dead-letters them with the status and the start of the response body.
// Each request carries X-Streams-Source: TOPIC/PARTITION/FIRST-LAST, so a
// receiver can drop a batch it already has after a replay.
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include <streams/plugin.hpp>

#include "../http_common/http_batches.h"
#include "../http_common/http_report.h"

namespace {

struct Config {
  std::string url;
  bool json_array = false;
  std::vector<std::string> headers;  // "Name: value"
};

Config parse(std::string_view text) {
  const nlohmann::json j = nlohmann::json::parse(text);
  Config c;
  auto url = j.find("url");
  if (url == j.end() || !url->is_string()) {
    throw std::runtime_error("config.url: required (an http:// or https:// URL)");
  }
  c.url = url->get<std::string>();
  if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0) {
    throw std::runtime_error("config.url: expected an http:// or https:// URL, got '" + c.url +
                             "'");
  }
  if (auto f = j.find("format"); f != j.end()) {
    const std::string format = f->is_string() ? f->get<std::string>() : "";
    if (format != "ndjson" && format != "json_array") {
      throw std::runtime_error("config.format: expected ndjson or json_array");
    }
    c.json_array = format == "json_array";
  }
  c.headers.push_back(c.json_array ? "Content-Type: application/json"
                                   : "Content-Type: application/x-ndjson");
  if (auto h = j.find("headers"); h != j.end()) {
    if (!h->is_object()) throw std::runtime_error("config.headers: expected a map of strings");
    for (const auto& [name, value] : h->items()) {
      if (!value.is_string()) {
        throw std::runtime_error("config.headers." + name + ": expected a string");
      }
      c.headers.push_back(name + ": " + value.get<std::string>());
    }
  }
  return c;
}

class HttpSink {
 public:
  explicit HttpSink(const streams::InitContext& ctx)
      : config_(parse(ctx.config_json())),
        batches_(streams_http::read_options(std::string(ctx.config_json()))) {}

  void write(const streams::SinkBatch& b, streams::SinkReports&) {
    std::string body;
    body.reserve(b.bytes() + b.size() + 2);
    if (config_.json_array) body.push_back('[');
    for (size_t i = 0; i < b.size(); ++i) {
      const streams::Record r = b[i];
      if (config_.json_array && i > 0) body.push_back(',');
      body.append(r.has_value() ? r.value() : "null");
      if (!config_.json_array) body.push_back('\n');
    }
    if (config_.json_array) body.push_back(']');
    std::string source = "X-Streams-Source: " + std::string(b.topic()) + "/" +
                         std::to_string(b.partition()) + "/" + std::to_string(b.first_offset()) +
                         "-" + std::to_string(b.last_offset());
    send(b.id(), std::move(body), source);
  }

  void poll(int timeout_ms, streams::SinkReports& reports) {
    batches_.poll(timeout_ms, [&](streams_http::Response& r) { done(r, reports); });
  }

 private:
  void send(uint64_t id, std::string body, const std::string& source) {
    headers_ = config_.headers;
    headers_.push_back(source);
    batches_.start(id, "POST", config_.url, std::move(body), headers_);
  }

  void done(const streams_http::Response& r, streams::SinkReports& reports) {
    if (r.result != CURLE_OK) {
      reports.retry(r.id, config_.url + ": " + r.error);
      return;
    }
    if (r.status >= 200 && r.status < 300) {
      reports.written(r.id);
      return;
    }
    const std::string why =
        "HTTP " + std::to_string(r.status) + " from " + config_.url + ": " + r.body;
    if (r.status == 408 || r.status == 429 || r.status >= 500) {
      streams_http::retry(reports, r.id, streams_http::asked_delay_ms(r), why);
    } else {
      reports.rejected(r.id, why);
    }
  }

  Config config_;
  streams_http::Batches batches_;
  std::vector<std::string> headers_;  // reused
};

}  // namespace

STREAMS_PLUGIN("http_sink", "1.0.0", streams::sink<HttpSink>("http"))
