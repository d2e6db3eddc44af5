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
// host backs off and sends the batch again), but a 429 or 503 with a
// Retry-After is sent again by the sink itself once that time has passed
// (at most 60 s), as a rate-limiting server asks; any other status refuses the
// batch, which the host halves until the refused records stand alone and
// dead-letters them with the status and the start of the response body.
// Each request carries X-Streams-Source: TOPIC/PARTITION/FIRST-LAST, so a
// receiver can drop a batch it already has after a replay.
#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <streams/plugin.hpp>

#include "../http_common/http_batches.h"

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
    send(b.id(), std::move(body), std::move(source));
  }

  void poll(int timeout_ms, streams::SinkReports& reports) {
    send_due();
    batches_.poll(timeout_ms, [&](streams_http::Response& r) { done(r, reports); });
  }

 private:
  static constexpr int64_t kMaxRetryAfterMs = 60000;

  // A batch a server asked to send again later (429 or 503 with Retry-After).
  struct Later {
    uint64_t id;
    std::string body;
    int64_t due_ms;  // steady clock
  };

  static int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  void send(uint64_t id, std::string body, std::string source) {
    headers_ = config_.headers;
    headers_.push_back(source);
    sources_[id] = std::move(source);
    batches_.start(id, "POST", config_.url, std::move(body), headers_);
  }

  void send_due() {
    if (later_.empty()) return;
    const int64_t now = now_ms();
    for (size_t i = 0; i < later_.size();) {
      if (later_[i].due_ms > now) {
        ++i;
        continue;
      }
      Later due = std::move(later_[i]);
      later_.erase(later_.begin() + static_cast<std::ptrdiff_t>(i));
      send(due.id, std::move(due.body), sources_[due.id]);
    }
  }

  void done(streams_http::Response& r, streams::SinkReports& reports) {
    if (r.result != CURLE_OK)
      return report(r.id, reports.retry(r.id, config_.url + ": " + r.error));
    if (r.status >= 200 && r.status < 300) return report(r.id, reports.written(r.id));
    const std::string why =
        "HTTP " + std::to_string(r.status) + " from " + config_.url + ": " + r.body;
    if ((r.status == 429 || r.status == 503) && r.retry_after_ms >= 0) {
      const int64_t wait = std::min(r.retry_after_ms, kMaxRetryAfterMs);
      reports.log(streams::LogLevel::warn, why + "; sending the batch again in " +
                                               std::to_string(wait) +
                                               " ms, as its Retry-After asks");
      later_.push_back({r.id, std::move(r.request_body), now_ms() + wait});
      return;
    }
    if (r.status == 408 || r.status == 429 || r.status >= 500) {
      report(r.id, reports.retry(r.id, why));
    } else {
      report(r.id, reports.rejected(r.id, why));
    }
  }

  void report(uint64_t id, bool) { sources_.erase(id); }

  Config config_;
  streams_http::Batches batches_;
  std::vector<std::string> headers_;                   // reused
  std::unordered_map<uint64_t, std::string> sources_;  // X-Streams-Source of a batch in flight
  std::vector<Later> later_;
};

}  // namespace

STREAMS_PLUGIN("http_sink", "1.0.0", streams::sink<HttpSink>("http"))
