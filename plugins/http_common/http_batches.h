// POSTs batches over libcurl's multi interface for the HTTP-based sinks
// (http_sink, clickhouse_sink, object_store_sink): requests run while the
// processing thread goes on; poll() collects the finished ones.
//
// Thread: one thread (the sink's calls, or a thread of the sink's own), but
// wake().
#pragma once

#include <curl/curl.h>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace streams_http {

// TLS and time limits, from a sink's config.
struct Options {
  long timeout_ms = 10000;
  long connect_timeout_ms = 3000;
  std::string ca_file, cert_file, key_file;
  bool verify = true;
};

// What became of a request.
struct Response {
  uint64_t id = 0;
  CURLcode result = CURLE_OK;   // a transport failure when not CURLE_OK
  long status = 0;              // HTTP status when result is CURLE_OK
  std::string error;            // transport failure text
  std::string body;             // the response body's first bytes (Batches::start's `keep`);
                                // of a HEAD, its header lines instead
  int64_t retry_after_ms = -1;  // the response's Retry-After (seconds or a date); -1: none
};

class Batches {
 public:
  static constexpr size_t kExcerpt = 512;

  explicit Batches(Options options);
  ~Batches();
  Batches(const Batches&) = delete;
  Batches& operator=(const Batches&) = delete;

  // Starts `method` (GET, HEAD, POST, PUT, DELETE) of `body` to `url` with `headers`
  // ("Name: value"); `setup`, when given, sets more options on the handle
  // (AWS signing). Reported by poll() with `id` and the response body's
  // first `keep` bytes.
  void start(uint64_t id, const char* method, const std::string& url, std::string body,
             const std::vector<std::string>& headers,
             const std::function<void(CURL*)>& setup = nullptr, size_t keep = kExcerpt);
  // Fills up to `capacity` bytes at `out` with the next bytes of a body;
  // returns how many, 0 at its end.
  using Source = std::function<size_t(char* out, size_t capacity)>;
  // Starts a POST of a body `source` writes as libcurl sends it (chunked
  // transfer encoding): the server reads its first bytes while the rest are
  // being made. `source` is called on this object's thread, from within
  // start_streamed() and poll(), until it returns 0 or the request ends; a
  // throw aborts the request (reported as a transport failure).
  void start_streamed(uint64_t id, const std::string& url, Source source,
                      const std::vector<std::string>& headers, size_t keep = kExcerpt);
  // Runs transfers, waiting up to `timeout_ms` for one when some run, and
  // calls `done` for each that finished.
  // `done` may move out of the response it is given.
  void poll(int timeout_ms, const std::function<void(Response&)>& done);
  bool idle() const { return active_.empty(); }
  // Makes a poll() that waits return now. From any thread.
  void wake() { curl_multi_wakeup(multi_); }

 private:
  struct Request;
  static size_t keep_body(char* data, size_t size, size_t n, void* user);
  static size_t read_body(char* out, size_t size, size_t n, void* user);
  // A request with its common options set (URL, headers and `extra_header`
  // when given, limits, TLS).
  std::unique_ptr<Request> prepared(uint64_t id, const std::string& url,
                                    const std::vector<std::string>& headers, size_t keep,
                                    const char* extra_header = nullptr);
  void launch(std::unique_ptr<Request> r);
  CURLM* multi_ = nullptr;
  Options options_;
  std::vector<std::unique_ptr<Request>> active_;
  std::vector<CURL*> spare_;
};

// Reads the options of a sink's config JSON text ("timeout_ms",
// "connect_timeout_ms", "tls": {ca_file, cert_file, key_file, verify}).
// Throws std::runtime_error naming the key on a bad value.
Options read_options(const std::string& config_json);

// The string config[key] ("" when absent); throws std::runtime_error
// naming "config.KEY" when it is not a string, or absent and `required`.
std::string config_text(const nlohmann::json& config, const char* key, bool required);

// `text` percent-encoded but for RFC 3986's unreserved characters (and '/'
// when `keep_slash`: a path).
std::string uri_encode(const std::string& text, bool keep_slash);

}  // namespace streams_http
