// The object store sink: each batch becomes one object of an S3-compatible
// store (AWS Signature V4 by libcurl), NDJSON of the records' values,
// optionally zstd-compressed, named by the source offsets it holds:
//
//   {prefix}/{topic}/{partition}/{first_offset}-{last_offset}.ndjson[.zst]
//
// (offsets zero-padded to 20 digits, so names sort in offset order). The
// host cuts batches by batch_size, batch_bytes and batch_time_ms, each
// holding whole inputs, and commits an input only after its object was
// uploaded. Exactly-once objects with no coordinator: when a partition is
// assigned, the sink lists its objects and writes only records after the
// last offset they hold, so a replay after a crash (the host reads again
// from the committed offset, which may lie before objects uploaded but not
// committed) never writes an object twice or two that overlap.
//
// A store that is not atomic (s3rver keeps what arrived of a PUT whose
// client died) could hold a part of the last object: the host hands the
// sink one batch of a partition at a time, so only a partition's last
// object can be partial, and only if it starts at or after the first
// record the host hands again. Each object carries its size in
// x-amz-meta-streams-bytes (GCS's XML API answers it as
// x-goog-meta-streams-bytes); such a last object is checked (HEAD) and, when
// its size is not the recorded one, deleted and written again from the
// replayed records. An object that starts before that record was
// acknowledged, so whole (an earlier version's objects have no size).
//
//   - kind: sink
//     name: archive
//     plugin: object_store_sink
//     batch_size: 10000
//     batch_time_ms: 60000
//     config:
//       endpoint: https://s3.eu-west-1.amazonaws.com   # or a MinIO, s3rver... URL
//       bucket: events
//       prefix: ingest                                  # optional
//       region: eu-west-1                               # default us-east-1
//       access_key: ${envvar:AWS_ACCESS_KEY_ID}         # in the deployment's config
//       secret_key: ${envvar:AWS_SECRET_ACCESS_KEY}
//       compression: zstd                               # or none (default)
//
// Nothing is refused: any failure (the store down, a 5xx, a 403 or a
// missing bucket) is retried with the host's backoff, the inputs held.
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <streams/plugin.hpp>

#include "../http_common/http_batches.h"
#include "../http_common/http_report.h"

namespace {

// Request ids of a recovery's requests: kind | recovery << 32 | partition
// (batch ids are the host's, far below; an answer to an earlier recovery of
// the partition is ignored).
constexpr uint64_t kListing = 1ull << 63;
constexpr uint64_t kCheck = 1ull << 62;   // HEAD of a partition's last object
constexpr uint64_t kDelete = 1ull << 61;  // DELETE of a partial last object
constexpr uint64_t kKinds = kListing | kCheck | kDelete;
constexpr uint32_t kRecoveryMask = (1u << 29) - 1;
constexpr size_t kListBody = 8 << 20;  // a listing page's XML, kept whole

std::string padded(int64_t offset) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(offset));
  return buf;
}

// The text of each <tag>...</tag> of a listing, with XML's five entities
// undone.
std::vector<std::string> elements(const std::string& xml, const std::string& tag) {
  std::vector<std::string> out;
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  for (size_t at = xml.find(open); at != std::string::npos; at = xml.find(open, at)) {
    at += open.size();
    const size_t end = xml.find(close, at);
    if (end == std::string::npos) break;
    std::string text = xml.substr(at, end - at);
    static const std::pair<const char*, char> entities[] = {
        {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}, {"&amp;", '&'}};
    for (const auto& [entity, ch] : entities) {
      for (size_t p = text.find(entity); p != std::string::npos; p = text.find(entity, p + 1)) {
        text.replace(p, std::strlen(entity), 1, ch);
      }
    }
    out.push_back(std::move(text));
    at = end;
  }
  return out;
}

// `text` as a number when it is all digits and fits.
bool whole_number(std::string_view text, int64_t* out) {
  const char* end = text.data() + text.size();
  const auto [at, ec] = std::from_chars(text.data(), end, *out);
  return !text.empty() && std::isdigit(static_cast<unsigned char>(text[0])) && ec == std::errc() &&
         at == end;
}

// The first and last offsets an object named ".../FIRST-LAST.ext" holds,
// or {-1, -1}.
std::pair<int64_t, int64_t> offsets_of(const std::string& key) {
  const size_t slash = key.rfind('/');
  const std::string name = key.substr(slash == std::string::npos ? 0 : slash + 1);
  const size_t dash = name.find('-'), dot = name.find('.');
  if (dash == std::string::npos || dot == std::string::npos || dot < dash) return {-1, -1};
  int64_t first = -1, last = -1;
  if (!whole_number(name.substr(0, dash), &first) ||
      !whole_number(name.substr(dash + 1, dot - dash - 1), &last)) {
    return {-1, -1};
  }
  return {first, last};
}

// The value of header `name` (lower case) in HEAD's header lines, or -1.
int64_t header_number(std::string lines, const std::string& name) {
  for (char& ch : lines) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const size_t at = lines.find("\n" + name + ":");
  if (at == std::string::npos) return -1;
  size_t p = at + name.size() + 2;
  while (p < lines.size() && lines[p] == ' ') ++p;
  const size_t end = std::min(lines.find_first_not_of("0123456789", p), lines.size());
  int64_t n = -1;
  return whole_number(std::string_view(lines).substr(p, end - p), &n) ? n : -1;
}

class ObjectStoreSink {
 public:
  static constexpr streams::SinkGuarantee guarantee = streams::SinkGuarantee::exactly_once;

  explicit ObjectStoreSink(const streams::InitContext& ctx)
      : batches_(streams_http::read_options(std::string(ctx.config_json()))) {
    const nlohmann::json j = nlohmann::json::parse(ctx.config_json());
    endpoint_ = streams_http::config_text(j, "endpoint", true);
    if (endpoint_.rfind("http://", 0) != 0 && endpoint_.rfind("https://", 0) != 0) {
      throw std::runtime_error("config.endpoint: expected an http:// or https:// URL");
    }
    while (endpoint_.back() == '/') endpoint_.pop_back();
    bucket_ = streams_http::config_text(j, "bucket", true);
    prefix_ = streams_http::config_text(j, "prefix", false);
    while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
    const std::string region =
        j.contains("region") ? streams_http::config_text(j, "region", true) : "us-east-1";
    sigv4_ = "aws:amz:" + region + ":s3";
    const std::string access_key = streams_http::config_text(j, "access_key", true);
    credentials_ = access_key + ":" + streams_http::config_text(j, "secret_key", true);
    const std::string compression = streams_http::config_text(j, "compression", false);
    if (!compression.empty() && compression != "none" && compression != "zstd") {
      throw std::runtime_error("config.compression: expected none or zstd, got '" + compression +
                               "'");
    }
    zstd_ = compression == "zstd";
    headers_ = {"x-amz-content-sha256: UNSIGNED-PAYLOAD",
                zstd_ ? "Content-Type: application/zstd" : "Content-Type: application/x-ndjson"};
  }

  void write(const streams::SinkBatch& b, streams::SinkReports& reports) {
    Partition& p = parts_[b.partition()];
    p.topic = std::string(b.topic());
    if (!p.listed) {  // keep the batch until the recovery says where the store is
      p.waiting = Waiting{b.id(), {}, {}};
      for (size_t i = 0; i < b.size(); ++i) {
        p.waiting->offsets.push_back(b.offset(i));
        p.waiting->values.emplace_back(b[i].value());
      }
      if (!p.busy) recover(b.partition(), p);
      return;
    }
    size_t first = 0;
    while (first < b.size() && b.offset(first) <= p.position) ++first;
    if (first == b.size()) return (void)reports.written(b.id());  // the store has it
    std::string body;
    body.reserve(b.bytes() + b.size());
    for (size_t i = first; i < b.size(); ++i) {
      body.append(b[i].value());
      body.push_back('\n');
    }
    upload(b.id(), b.partition(), p, b.offset(first), b.last_offset(), std::move(body));
  }

  void poll(int timeout_ms, streams::SinkReports& reports) {
    batches_.poll(timeout_ms, [&](const streams_http::Response& r) {
      if (r.id & kKinds) return recovered(r, reports);
      auto it = uploads_.find(r.id);
      if (it == uploads_.end()) return;
      const Upload u = it->second;
      uploads_.erase(it);
      if (r.result == CURLE_OK && r.status == 200) {
        Partition& p = parts_[u.partition];
        p.position = std::max(p.position, u.last);
        return (void)reports.written(r.id);
      }
      streams_http::retry(reports, r.id, streams_http::asked_delay_ms(r),
                          failure("PUT " + u.key, r));
    });
  }

  // A partition assigned again may have objects another host wrote.
  void assigned(std::string_view, int32_t partition, streams::SinkReports&) {
    parts_[partition].listed = false;
  }
  void revoked(std::string_view, int32_t partition, streams::SinkReports&) {
    parts_[partition] = Partition{};
  }

 private:
  struct Waiting {
    uint64_t id;
    std::vector<int64_t> offsets;
    std::vector<std::string> values;
  };
  // A partition's place in the store. Recovery (listed false): the
  // listing's pages, then the last object's check and deletion, one
  // request at a time (busy), the first batch waiting meanwhile.
  struct Partition {
    std::string topic;
    bool listed = false;
    bool busy = false;
    uint32_t recovery = 0;     // the recovery under way, or 0
    int64_t position = -1;     // the last offset the store's objects hold
    int64_t before_last = -1;  // the same without the last object (recovery)
    std::string last_key;      // the object holding `position` (recovery)
    std::optional<Waiting> waiting;
  };
  struct Upload {
    int32_t partition;
    int64_t last;
    std::string key;
  };

  std::string directory(int32_t partition, const Partition& p) const {
    return (prefix_.empty() ? "" : prefix_ + "/") + p.topic + "/" + std::to_string(partition) + "/";
  }

  std::string object_url(const std::string& key) const {
    return endpoint_ + "/" + streams_http::uri_encode(bucket_, false) + "/" +
           streams_http::uri_encode(key, true);
  }

  void sign(CURL* e) const {
    curl_easy_setopt(e, CURLOPT_AWS_SIGV4, sigv4_.c_str());
    curl_easy_setopt(e, CURLOPT_USERPWD, credentials_.c_str());
  }

  void request(uint64_t kind, int32_t partition, Partition& p, const char* method,
               const std::string& url, size_t keep) {
    p.busy = true;
    batches_.start(
        kind | static_cast<uint64_t>(p.recovery) << 32 | static_cast<uint32_t>(partition), method,
        url, "", headers_, [this](CURL* e) { sign(e); }, keep);
  }

  void recover(int32_t partition, Partition& p) {
    recoveries_ = (recoveries_ + 1) & kRecoveryMask;
    if (recoveries_ == 0) recoveries_ = 1;
    p.recovery = recoveries_;
    p.position = p.before_last = -1;
    p.last_key.clear();
    list(partition, p, "");
  }

  // ListObjectsV2 of the partition's directory, a page after `after`.
  void list(int32_t partition, Partition& p, const std::string& after) {
    std::string url =
        endpoint_ + "/" + streams_http::uri_encode(bucket_, false) +
        "?list-type=2&prefix=" + streams_http::uri_encode(directory(partition, p), false);
    if (!after.empty()) url += "&start-after=" + streams_http::uri_encode(after, false);
    request(kListing, partition, p, "GET", url, kListBody);
  }

  // A listing page, a check or a deletion answered.
  void recovered(const streams_http::Response& r, streams::SinkReports& reports) {
    const auto partition = static_cast<int32_t>(static_cast<uint32_t>(r.id));
    auto it = parts_.find(partition);
    if (it == parts_.end() || it->second.recovery != ((r.id >> 32) & kRecoveryMask)) return;
    Partition& p = it->second;
    p.busy = false;
    if (r.result != CURLE_OK) return recovery_failed(partition, p, r, reports);
    if (r.id & kListing) {
      if (r.status != 200) return recovery_failed(partition, p, r, reports);
      return listed(partition, p, r.body, reports);
    }
    if (r.status == 404) return recovery_done(partition, p, p.before_last, reports);  // gone
    if (r.id & kDelete) {
      if (r.status != 200 && r.status != 204) return recovery_failed(partition, p, r, reports);
      return recovery_done(partition, p, p.before_last, reports);
    }
    if (r.status != 200) return recovery_failed(partition, p, r, reports);
    int64_t recorded = header_number(r.body, "x-amz-meta-streams-bytes");
    if (recorded < 0) recorded = header_number(r.body, "x-goog-meta-streams-bytes");
    if (recorded >= 0 && recorded == header_number(r.body, "content-length")) {
      return recovery_done(partition, p, p.position, reports);
    }
    request(kDelete, partition, p, "DELETE", object_url(p.last_key),
            streams_http::Batches::kExcerpt);
  }

  void listed(int32_t partition, Partition& p, const std::string& page,
              streams::SinkReports& reports) {
    const std::vector<std::string> keys = elements(page, "Key");
    for (const std::string& key : keys) {
      const int64_t last = offsets_of(key).second;
      if (last > p.position) {
        p.before_last = p.position;
        p.position = last;
        p.last_key = key;
      } else {
        p.before_last = std::max(p.before_last, last);
      }
    }
    const std::vector<std::string> truncated = elements(page, "IsTruncated");
    if (!truncated.empty() && truncated[0] == "true" && !keys.empty()) {
      return list(partition, p, keys.back());
    }
    if (p.waiting && !p.last_key.empty() &&
        offsets_of(p.last_key).first >= p.waiting->offsets.front()) {
      return request(kCheck, partition, p, "HEAD", object_url(p.last_key),
                     streams_http::Batches::kExcerpt * 8);
    }
    recovery_done(partition, p, p.position, reports);
  }

  // The batch waits for the recovery: reported for a retry, which recovers again.
  void recovery_failed(int32_t partition, Partition& p, const streams_http::Response& r,
                       streams::SinkReports& reports) {
    const char* what = (r.id & kListing) ? "LIST " : (r.id & kCheck) ? "HEAD " : "DELETE ";
    const std::string target = (r.id & kListing) ? directory(partition, p) : p.last_key;
    if (p.waiting) {
      streams_http::retry(reports, p.waiting->id, streams_http::asked_delay_ms(r),
                          failure(what + target, r));
    }
    p.waiting.reset();
  }

  void recovery_done(int32_t partition, Partition& p, int64_t position,
                     streams::SinkReports& reports) {
    p.position = position;
    p.listed = true;
    if (!p.waiting) return;
    Waiting w = std::move(*p.waiting);
    p.waiting.reset();
    size_t first = 0;
    while (first < w.offsets.size() && w.offsets[first] <= p.position) ++first;
    if (first == w.offsets.size()) return (void)reports.written(w.id);
    std::string body;
    for (size_t i = first; i < w.values.size(); ++i) body.append(w.values[i]).push_back('\n');
    upload(w.id, partition, p, w.offsets[first], w.offsets.back(), std::move(body));
  }

  void upload(uint64_t id, int32_t partition, const Partition& p, int64_t first, int64_t last,
              std::string body) {
    const std::string key = directory(partition, p) + padded(first) + "-" + padded(last) +
                            (zstd_ ? ".ndjson.zst" : ".ndjson");
    if (zstd_) body = compress(body);
    uploads_[id] = Upload{partition, last, key};
    std::vector<std::string> headers = headers_;
    headers.push_back("x-amz-meta-streams-bytes: " + std::to_string(body.size()));
    batches_.start(id, "PUT", object_url(key), std::move(body), headers,
                   [this](CURL* e) { sign(e); });
  }

  static std::string compress(const std::string& text) {
    std::string out(ZSTD_compressBound(text.size()), '\0');
    const size_t n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3);
    if (ZSTD_isError(n)) throw std::runtime_error(ZSTD_getErrorName(n));
    out.resize(n);
    return out;
  }

  std::string failure(const std::string& what, const streams_http::Response& r) const {
    if (r.result != CURLE_OK) return endpoint_ + ": " + what + ": " + r.error;
    return endpoint_ + ": " + what + ": HTTP " + std::to_string(r.status) + ": " +
           r.body.substr(0, streams_http::Batches::kExcerpt);
  }

  streams_http::Batches batches_;
  std::string endpoint_, bucket_, prefix_, sigv4_, credentials_;
  bool zstd_ = false;
  std::vector<std::string> headers_;
  std::map<int32_t, Partition> parts_;
  std::map<uint64_t, Upload> uploads_;
  uint32_t recoveries_ = 0;
};

}  // namespace

STREAMS_PLUGIN("object_store_sink", "1.0.0", streams::sink<ObjectStoreSink>("s3"))
