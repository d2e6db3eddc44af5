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
// host backs off and sends the batch again); any other status refuses the
// batch, which the host halves until the refused records stand alone and
// dead-letters them with the status and the start of the response body.
// Each request carries X-Streams-Source: TOPIC/PARTITION/FIRST-LAST, so a
// receiver can drop a batch it already has after a replay.
#include <curl/curl.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include <streams/plugin.hpp>

namespace {

constexpr size_t kExcerpt = 512;  // bytes of a response body kept for a reason

struct Config {
  std::string url;
  bool json_array = false;
  std::vector<std::string> headers;  // "Name: value"
  long timeout_ms = 10000;
  long connect_timeout_ms = 3000;
  std::string ca_file, cert_file, key_file;
  bool verify = true;
};

std::string text_of(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (!it->is_string())
    throw std::runtime_error(std::string("config.") + key + ": expected a string");
  return it->get<std::string>();
}

long number_of(const nlohmann::json& j, const char* key, long fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (!it->is_number_integer() || it->get<long>() <= 0) {
    throw std::runtime_error(std::string("config.") + key + ": expected a positive integer");
  }
  return it->get<long>();
}

Config parse(std::string_view text) {
  const nlohmann::json j = nlohmann::json::parse(text);
  Config c;
  c.url = text_of(j, "url");
  if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0) {
    throw std::runtime_error("config.url: expected an http:// or https:// URL, got '" + c.url +
                             "'");
  }
  const std::string format = text_of(j, "format");
  if (!format.empty() && format != "ndjson" && format != "json_array") {
    throw std::runtime_error("config.format: expected ndjson or json_array, got '" + format + "'");
  }
  c.json_array = format == "json_array";
  if (auto h = j.find("headers"); h != j.end()) {
    if (!h->is_object()) throw std::runtime_error("config.headers: expected a map of strings");
    for (const auto& [name, value] : h->items()) {
      if (!value.is_string()) {
        throw std::runtime_error("config.headers." + name + ": expected a string");
      }
      c.headers.push_back(name + ": " + value.get<std::string>());
    }
  }
  c.timeout_ms = number_of(j, "timeout_ms", c.timeout_ms);
  c.connect_timeout_ms = number_of(j, "connect_timeout_ms", c.connect_timeout_ms);
  if (auto t = j.find("tls"); t != j.end()) {
    if (!t->is_object()) throw std::runtime_error("config.tls: expected a map");
    c.ca_file = text_of(*t, "ca_file");
    c.cert_file = text_of(*t, "cert_file");
    c.key_file = text_of(*t, "key_file");
    if (auto v = t->find("verify"); v != t->end()) {
      if (!v->is_boolean()) throw std::runtime_error("config.tls.verify: expected true or false");
      c.verify = v->get<bool>();
    }
  }
  return c;
}

size_t keep_excerpt(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  const size_t bytes = size * n;
  if (body->size() < kExcerpt) body->append(data, std::min(bytes, kExcerpt - body->size()));
  return bytes;
}

class HttpSink {
 public:
  explicit HttpSink(const streams::InitContext& ctx) : config_(parse(ctx.config_json())) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi_ = curl_multi_init();
    if (!multi_) throw std::runtime_error("curl_multi_init failed");
  }
  ~HttpSink() {
    for (auto& r : active_) {
      curl_multi_remove_handle(multi_, r->easy);
      curl_easy_cleanup(r->easy);
      curl_slist_free_all(r->headers);
    }
    for (CURL* e : idle_) curl_easy_cleanup(e);
    curl_multi_cleanup(multi_);
  }
  HttpSink(const HttpSink&) = delete;
  HttpSink& operator=(const HttpSink&) = delete;

  void write(const streams::SinkBatch& b, streams::SinkReports& reports) {
    auto r = std::make_unique<Request>();
    r->id = b.id();
    build_body(b, &r->body);
    r->easy = idle_.empty() ? curl_easy_init() : take_idle();
    if (!r->easy) return (void)reports.retry(b.id(), "curl_easy_init failed");
    r->headers = request_headers(b);
    set_options(*r);
    curl_multi_add_handle(multi_, r->easy);
    active_.push_back(std::move(r));
    int running = 0;
    curl_multi_perform(multi_, &running);
  }

  void poll(int timeout_ms, streams::SinkReports& reports) {
    if (active_.empty()) return;
    int running = 0;
    curl_multi_perform(multi_, &running);
    if (running > 0 && timeout_ms > 0) {
      curl_multi_poll(multi_, nullptr, 0, timeout_ms, nullptr);
      curl_multi_perform(multi_, &running);
    }
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg == CURLMSG_DONE) finish(msg->easy_handle, msg->data.result, reports);
    }
  }

 private:
  struct Request {
    uint64_t id = 0;
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    std::string body;
    std::string response;  // its first kExcerpt bytes
    char error[CURL_ERROR_SIZE] = {0};
  };

  CURL* take_idle() {
    CURL* e = idle_.back();
    idle_.pop_back();
    curl_easy_reset(e);
    return e;
  }

  void build_body(const streams::SinkBatch& b, std::string* body) const {
    body->reserve(b.bytes() + b.size() + 2);
    if (config_.json_array) body->push_back('[');
    for (size_t i = 0; i < b.size(); ++i) {
      const streams::Record r = b[i];
      if (config_.json_array && i > 0) body->push_back(',');
      if (r.has_value()) {
        body->append(r.value());
      } else {
        body->append("null");
      }
      if (!config_.json_array) body->push_back('\n');
    }
    if (config_.json_array) body->push_back(']');
  }

  curl_slist* request_headers(const streams::SinkBatch& b) const {
    curl_slist* list =
        curl_slist_append(nullptr, config_.json_array ? "Content-Type: application/json"
                                                      : "Content-Type: application/x-ndjson");
    const std::string source =
        "X-Streams-Source: " + std::string(b.topic()) + "/" + std::to_string(b.partition()) + "/" +
        std::to_string(b.first_offset()) + "-" + std::to_string(b.last_offset());
    list = curl_slist_append(list, source.c_str());
    list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
    for (const std::string& h : config_.headers) list = curl_slist_append(list, h.c_str());
    return list;
  }

  void set_options(Request& r) const {
    CURL* e = r.easy;
    curl_easy_setopt(e, CURLOPT_URL, config_.url.c_str());
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r.headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &keep_excerpt);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r.response);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r.error);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, config_.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, config_.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (!config_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, config_.ca_file.c_str());
    if (!config_.cert_file.empty()) {
      curl_easy_setopt(e, CURLOPT_SSLCERT, config_.cert_file.c_str());
    }
    if (!config_.key_file.empty()) curl_easy_setopt(e, CURLOPT_SSLKEY, config_.key_file.c_str());
    if (!config_.verify) {
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  }

  void finish(CURL* easy, CURLcode result, streams::SinkReports& reports) {
    size_t i = 0;
    while (i < active_.size() && active_[i]->easy != easy) ++i;
    if (i == active_.size()) return;
    std::unique_ptr<Request> r = std::move(active_[i]);
    active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(i));
    curl_multi_remove_handle(multi_, easy);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (result != CURLE_OK) {
      reports.retry(r->id,
                    config_.url + ": " + (r->error[0] ? r->error : curl_easy_strerror(result)));
    } else if (status >= 200 && status < 300) {
      reports.written(r->id);
    } else {
      const std::string why =
          "HTTP " + std::to_string(status) + " from " + config_.url + ": " + r->response;
      if (status == 408 || status == 429 || status >= 500) {
        reports.retry(r->id, why);
      } else {
        reports.rejected(r->id, why);
      }
    }
    curl_slist_free_all(r->headers);
    idle_.push_back(easy);
  }

  Config config_;
  CURLM* multi_ = nullptr;
  std::vector<std::unique_ptr<Request>> active_;
  std::vector<CURL*> idle_;
};

}  // namespace

STREAMS_PLUGIN("http_sink", "1.0.0", streams::sink<HttpSink>("http"))
