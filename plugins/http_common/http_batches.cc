#include "http_batches.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace streams_http {

struct Batches::Request {
  uint64_t id = 0;
  size_t keep = Batches::kExcerpt;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;
  Batches::Source source;  // a streamed body's, else empty
  std::string response;
  char error[CURL_ERROR_SIZE] = {0};
};

// libcurl's write callback: keeps the body's first `keep` bytes.
size_t Batches::keep_body(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<Request*>(user);
  const size_t bytes = size * n;
  if (r->response.size() < r->keep)
    r->response.append(data, std::min(bytes, r->keep - r->response.size()));
  return bytes;
}

// libcurl's read callback of a streamed body.
size_t Batches::read_body(char* out, size_t size, size_t n, void* user) {
  auto* r = static_cast<Request*>(user);
  try {
    return r->source(out, size * n);
  } catch (const std::exception& e) {
    std::snprintf(r->error, sizeof r->error, "the request body failed: %s", e.what());
    return CURL_READFUNC_ABORT;
  }
}

namespace {

// The Retry-After of the response on `easy`, in ms from now: delta seconds,
// or an HTTP date (a past one is 0). -1 when there is none or it cannot be read.
int64_t retry_after_ms(CURL* easy) {
  curl_header* h = nullptr;
  if (curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK) return -1;
  const std::string value = h->value;
  if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos) {
    return value.size() > 9 ? int64_t{999999999} * 1000 : std::stoll(value) * 1000;
  }
  const time_t at = curl_getdate(value.c_str(), nullptr);
  if (at < 0) return -1;
  return std::max<int64_t>(0, (static_cast<int64_t>(at) - std::time(nullptr)) * 1000);
}

std::string text_of(const nlohmann::json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (!it->is_string()) throw std::runtime_error(where + key + ": expected a string");
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

}  // namespace

std::string config_text(const nlohmann::json& config, const char* key, bool required) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) {
    if (required) throw std::runtime_error(std::string("config.") + key + ": required (a string)");
    return "";
  }
  if (!it->is_string()) {
    throw std::runtime_error(std::string("config.") + key + ": expected a string");
  }
  return it->get<std::string>();
}

std::string uri_encode(const std::string& text, bool keep_slash) {
  std::string out;
  char hex[4];
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' ||
        (keep_slash && ch == '/')) {
      out.push_back(static_cast<char>(ch));
    } else {
      std::snprintf(hex, sizeof hex, "%%%02X", ch);
      out += hex;
    }
  }
  return out;
}

Options read_options(const std::string& config_json) {
  const nlohmann::json j = nlohmann::json::parse(config_json);
  Options o;
  o.timeout_ms = number_of(j, "timeout_ms", o.timeout_ms);
  o.connect_timeout_ms = number_of(j, "connect_timeout_ms", o.connect_timeout_ms);
  if (auto t = j.find("tls"); t != j.end()) {
    if (!t->is_object()) throw std::runtime_error("config.tls: expected a map");
    o.ca_file = text_of(*t, "ca_file", "config.tls.");
    o.cert_file = text_of(*t, "cert_file", "config.tls.");
    o.key_file = text_of(*t, "key_file", "config.tls.");
    if (auto v = t->find("verify"); v != t->end()) {
      if (!v->is_boolean()) throw std::runtime_error("config.tls.verify: expected true or false");
      o.verify = v->get<bool>();
    }
  }
  return o;
}

Batches::Batches(Options options) : options_(std::move(options)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  multi_ = curl_multi_init();
  if (!multi_) throw std::runtime_error("curl_multi_init failed");
}

Batches::~Batches() {
  for (auto& r : active_) {
    curl_multi_remove_handle(multi_, r->easy);
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
  }
  for (CURL* e : spare_) curl_easy_cleanup(e);
  curl_multi_cleanup(multi_);
}

std::unique_ptr<Batches::Request> Batches::prepared(uint64_t id, const std::string& url,
                                                    const std::vector<std::string>& headers,
                                                    size_t keep, const char* extra_header) {
  auto r = std::make_unique<Request>();
  r->id = id;
  r->keep = keep;
  if (spare_.empty()) {
    r->easy = curl_easy_init();
  } else {
    r->easy = spare_.back();
    spare_.pop_back();
    curl_easy_reset(r->easy);
  }
  r->headers = curl_slist_append(nullptr, "Expect:");  // no 100-continue round trip
  for (const std::string& h : headers) r->headers = curl_slist_append(r->headers, h.c_str());
  if (extra_header) r->headers = curl_slist_append(r->headers, extra_header);
  CURL* e = r->easy;
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Batches::keep_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->error);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  if (!options_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.cert_file.empty()) curl_easy_setopt(e, CURLOPT_SSLCERT, options_.cert_file.c_str());
  if (!options_.key_file.empty()) curl_easy_setopt(e, CURLOPT_SSLKEY, options_.key_file.c_str());
  if (!options_.verify) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  return r;
}

void Batches::launch(std::unique_ptr<Request> r) {
  curl_multi_add_handle(multi_, r->easy);
  active_.push_back(std::move(r));
  int running = 0;
  curl_multi_perform(multi_, &running);
}

void Batches::start(uint64_t id, const char* method, const std::string& url, std::string body,
                    const std::vector<std::string>& headers,
                    const std::function<void(CURL*)>& setup, size_t keep) {
  std::unique_ptr<Request> r = prepared(id, url, headers, keep);
  r->body = std::move(body);
  CURL* e = r->easy;
  if (std::string_view(method) == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (std::string_view(method) == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Batches::keep_body);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r.get());
  } else {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r->body.size()));
  }
  if (setup) setup(e);
  launch(std::move(r));
}

void Batches::start_streamed(uint64_t id, const std::string& url, Source source,
                             const std::vector<std::string>& headers, size_t keep) {
  std::unique_ptr<Request> r = prepared(id, url, headers, keep, "Transfer-Encoding: chunked");
  r->source = std::move(source);
  CURL* e = r->easy;
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_READFUNCTION, &Batches::read_body);
  curl_easy_setopt(e, CURLOPT_READDATA, r.get());
  launch(std::move(r));
}

void Batches::poll(int timeout_ms, const std::function<void(Response&)>& done) {
  if (active_.empty()) return;
  int running = 0;
  curl_multi_perform(multi_, &running);
  if (running > 0 && timeout_ms > 0) {
    curl_multi_poll(multi_, nullptr, 0, timeout_ms, nullptr);
    curl_multi_perform(multi_, &running);
  }
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    size_t i = 0;
    while (i < active_.size() && active_[i]->easy != msg->easy_handle) ++i;
    if (i == active_.size()) continue;
    std::unique_ptr<Request> r = std::move(active_[i]);
    active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(i));
    curl_multi_remove_handle(multi_, r->easy);
    Response out;
    out.id = r->id;
    out.result = msg->data.result;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &out.status);
    if (out.result != CURLE_OK) {
      out.error = r->error[0] ? r->error : curl_easy_strerror(out.result);
    }
    out.body = std::move(r->response);
    out.retry_after_ms = retry_after_ms(r->easy);
    curl_slist_free_all(r->headers);
    spare_.push_back(r->easy);
    done(out);
  }
}

}  // namespace streams_http
