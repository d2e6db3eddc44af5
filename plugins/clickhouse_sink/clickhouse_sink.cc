// The ClickHouse sink: INSERT ... FORMAT JSONEachRow (or RowBinary) over
// ClickHouse's HTTP interface, sent by a thread of the instance (libcurl's multi interface),
// at most two at a time, each with every batch that arrived meanwhile (of
// any partition): few large inserts, each one part of a MergeTree, and the
// processing thread never waits for the server. Rows appended to a table
// commute, so the sink takes up to batches_out batches of a partition at
// once (ABI 1.10): while INSERTs run, every batch the host seals waits here
// for the next one, which grows with the server's pace, not with the number
// of partitions. An INSERT's body is made as
// libcurl sends it (chunked: JSONEachRow rows copied straight from the
// host's batches, RowBinary encoded a batch at a time), so the server parses
// the first rows while the sink makes the rest. Each record's value is a JSON
// object whose keys name the table's columns; keys the table lacks are
// skipped (input_format_skip_unknown_fields).
//
// format: RowBinary moves the parsing from the server to the sink's thread
// (row_binary.h: the types it writes): before its first INSERT, and again
// after any INSERT that failed (the server may have restarted with the
// table changed), the sink asks DESCRIBE TABLE for the
// columns (MATERIALIZED and ALIAS ones left out) and inserts them by name.
// A missing key writes the column's zero (NULL for Nullable), never its
// DEFAULT expression. A row whose field its column cannot take is refused
// without a round trip (its batch rejected, halved by the host down to the
// row). A table with a column of another type is retried with that reason.
//
//   - kind: sink
//     name: events
//     plugin: clickhouse_sink
//     config:
//       url: http://clickhouse:8123     # the HTTP interface
//       table: events                   # or db.events
//       user: default                   # X-ClickHouse-User (default: none sent)
//       password: ${envvar:CH_PASSWORD} # X-ClickHouse-Key (in the deployment's config)
//       format: JSONEachRow             # or RowBinary
//       timeout_ms: 10000
//       tls: {ca_file: ..., verify: true}
//
// Outcomes: 200 written. An exception whose code says the data cannot be
// read (a value of the wrong type, JSON that is not an object...) refuses
// the batch: the host halves it until the refused rows stand alone and
// dead-letters them with ClickHouse's message. Anything else (connection
// refused, timeouts, a server error, a missing table) is retried with the
// host's backoff. When ClickHouse refuses an INSERT of several batches, the
// batch holding the row its message names ("at row N") is reported rejected
// and the others go again together; without a row named, each goes again
// alone. At-least-once: a replay inserts its rows again (a
// ReplacingMergeTree keyed on them makes that idempotent eventually).
#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <streams/plugin.hpp>

#include "../http_common/http_batches.h"
#include "../http_common/http_report.h"
#include "../sink_common/worker_queue.h"
#include "ndjson_body.h"
#include "row_binary.h"

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
  static constexpr uint32_t batches_out = 32;
  explicit ClickHouseSink(const streams::InitContext& ctx)
      : batches_(streams_http::read_options(std::string(ctx.config_json()))) {
    const nlohmann::json j = nlohmann::json::parse(ctx.config_json());
    std::string base = streams_http::config_text(j, "url", true);
    if (base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0) {
      throw std::runtime_error("config.url: expected ClickHouse's http:// or https:// interface");
    }
    while (!base.empty() && base.back() == '/') base.pop_back();
    const std::string format = streams_http::config_text(j, "format", false);
    if (!format.empty() && format != "JSONEachRow" && format != "RowBinary") {
      throw std::runtime_error("config.format: expected JSONEachRow or RowBinary, got '" + format +
                               "'");
    }
    row_binary_ = format == "RowBinary";
    table_ = quoted_table(streams_http::config_text(j, "table", true));
    base_ = base;
    if (!row_binary_) url_ = insert_url(" FORMAT JSONEachRow");
    shown_ = base;
    headers_.push_back(row_binary_ ? "Content-Type: application/octet-stream"
                                   : "Content-Type: application/x-ndjson");
    if (auto user = streams_http::config_text(j, "user", false); !user.empty()) {
      headers_.push_back("X-ClickHouse-User: " + user);
    }
    if (auto key = streams_http::config_text(j, "password", false); !key.empty()) {
      headers_.push_back("X-ClickHouse-Key: " + key);
    }
  }

  ~ClickHouseSink() {
    queue_.stop();
    batches_.wake();
    if (thread_.joinable()) thread_.join();
  }

  void write(const streams::SinkBatch& b, streams::SinkReports&) {
    Part part{b.id(), b.size(), {}, {}, {}, false};
    if (b.views_until_report()) {  // the sender thread reads the host's bytes
      part.kept.reserve(b.size());
      for (size_t i = 0; i < b.size(); ++i) part.kept.push_back(b[i].value());
    } else {
      part.body.reserve(b.bytes() + b.size());
      if (row_binary_) part.ends.reserve(b.size());
      for (size_t i = 0; i < b.size(); ++i) {
        part.body.append(b[i].value());
        if (row_binary_) part.ends.push_back(part.body.size());
        part.body.push_back('\n');
      }
    }
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });  // not for a probe
    queue_.push(std::move(part));
    batches_.wake();
  }

  void poll(int timeout_ms, streams::SinkReports& reports) {
    queue_.poll(timeout_ms, &reporting_);
    report(reports);
  }

 private:
  // A batch's rows, kept until its INSERT is answered.
  struct Part {
    uint64_t id;
    size_t rows;
    // The rows' JSON: views of the host's batch, valid until the part is
    // reported (ABI 1.9), or else copied into `body` as NDJSON. RowBinary
    // encodes them into each INSERT sent.
    std::vector<std::string_view> kept;
    std::string body;
    std::vector<size_t> ends;  // RowBinary, copied: each row's end in body
    bool alone;                // goes in an INSERT of its own (its group was refused)

    // Calls f(row) for each row's JSON until it returns false; false then.
    template <class F>
    bool each_row(F&& f) const {
      if (!kept.empty()) {
        for (std::string_view row : kept) {
          if (!f(row)) return false;
        }
        return true;
      }
      size_t begin = 0;
      for (size_t end : ends) {
        if (!f(std::string_view(body).substr(begin, end - begin))) return false;
        begin = end + 1;
      }
      return true;
    }
    // Copies the rows as NDJSON from *c into `out`, up to `capacity`
    // bytes; advances *c (copied: c->at is the byte of `body`).
    size_t copy_ndjson(streams_ch::NdjsonCursor* c, char* out, size_t capacity) const {
      if (!kept.empty()) return streams_ch::copy_ndjson(kept.data(), kept.size(), c, out, capacity);
      const size_t n = std::min(capacity, body.size() - c->at);
      std::memcpy(out, body.data() + c->at, n);
      c->at += n;
      return n;
    }
    bool ndjson_done(const streams_ch::NdjsonCursor& c) const {
      return kept.empty() ? c.at == body.size() : c.row == kept.size();
    }
  };
  // An INSERT under way: its parts and the state of its streamed body.
  struct Sent {
    uint64_t id = 0;
    std::vector<Part> group;  // parts [0, next) are sent or being sent
    size_t next = 0;
    // RowBinary: the body's bytes made and not yet all read, and how far
    // libcurl read them. JSONEachRow copies the rows straight from the
    // parts: `cursor` is the position in group[next].
    std::string chunk;
    size_t at = 0;
    streams_ch::NdjsonCursor cursor;
    std::shared_ptr<streams_ch::RowBinaryEncoder> encoder;  // null: JSONEachRow
  };
  // What became of a batch, for poll() to report.
  struct Outcome {
    uint64_t id;
    int32_t outcome;  // STREAMS_SINK_*
    std::string reason;
    int64_t retry_after_ms = -1;  // a retry's wait the server asked for
  };

  // The sender thread: runs the INSERTs, starting new ones as batches come.
  void run() {
    std::vector<Part> queued;
    while (queue_.take(&queued, /*wait=*/sent_.empty() && waiting_.empty())) {
      for (Part& p : queued) waiting_.push_back(std::move(p));
      queued.clear();
      send();
      batches_.poll(100, [&](const streams_http::Response& r) { finished(r); });
    }
  }

  // Starts an INSERT of everything waiting (of any partition) while fewer
  // than kInFlight run: one part in ClickHouse's MergeTree instead of one
  // per partition's batch. Parts of a refused group go each alone, at once.
  void send() {
    if (row_binary_ && !ready_for_row_binary()) return;
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      if (!it->alone) {
        ++it;
        continue;
      }
      std::vector<Part> group;
      group.push_back(std::move(*it));
      it = waiting_.erase(it);
      start(std::move(group));
    }
    if (waiting_.empty() || grouped_in_flight_ >= kInFlight) return;
    std::vector<Part> group;
    group.swap(waiting_);
    if (start(std::move(group))) ++grouped_in_flight_;
  }

  // Starts the INSERT of `group`, its body made a part at a time as libcurl
  // sends it (the server parses the first rows while the sink encodes the
  // rest); false when no part of it was left to send (RowBinary: each held
  // a row it cannot write).
  bool start(std::vector<Part> group) {
    auto sent = std::make_unique<Sent>();
    sent->id = ++requests_;
    sent->group = std::move(group);
    sent->encoder = encoder_;
    // RowBinary: the first part encoded now, so that no INSERT is empty.
    if (sent->encoder && !next_chunk(*sent)) return false;
    Sent* s = sent.get();
    sent_.push_back(std::move(sent));
    batches_.start_streamed(
        s->id, url_, [this, s](char* out, size_t capacity) { return read(*s, out, capacity); },
        headers_);
    return true;
  }

  // libcurl reads the body of `s`: the chunk made, then the next part's.
  size_t read(Sent& s, char* out, size_t capacity) {
    if (!s.encoder) return read_ndjson(s, out, capacity);
    if (s.at == s.chunk.size() && !next_chunk(s)) return 0;
    const size_t n = std::min(capacity, s.chunk.size() - s.at);
    std::memcpy(out, s.chunk.data() + s.at, n);
    s.at += n;
    return n;
  }

  // JSONEachRow: the group's rows, each with its '\n', from the parts
  // (the host's batches or their copies) into libcurl's buffer.
  size_t read_ndjson(Sent& s, char* out, size_t capacity) {
    size_t n = 0;
    while (n < capacity && s.next < s.group.size()) {
      const Part& p = s.group[s.next];
      n += p.copy_ndjson(&s.cursor, out + n, capacity - n);
      if (p.ndjson_done(s.cursor)) {
        ++s.next;
        s.cursor = {};
      }
    }
    return n;
  }

  // RowBinary: the next part of `s` encoded into s.chunk by the table's
  // columns as described when the INSERT started; a part with a row that
  // cannot be written is reported rejected and taken out of the group,
  // before any of its bytes are sent. False when no part is left.
  bool next_chunk(Sent& s) {
    s.chunk.clear();
    s.at = 0;
    while (s.next < s.group.size()) {
      Part& p = s.group[s.next];
      std::string why;
      if (p.each_row(
              [&](std::string_view row) { return s.encoder->append(row, &s.chunk, &why); })) {
        ++s.next;
        return true;
      }
      s.chunk.clear();
      queue_.finish(
          {p.id, STREAMS_SINK_REJECTED,
           "ClickHouse " + shown_ + ": a row RowBinary cannot write to " + table_ + ": " + why});
      s.group.erase(s.group.begin() + static_cast<std::ptrdiff_t>(s.next));
    }
    return false;
  }

  std::string insert_url(const std::string& rest) const {
    return base_ + "/?input_format_skip_unknown_fields=1&query=" +
           streams_http::uri_encode("INSERT INTO " + table_ + rest, false);
  }

  // RowBinary: true once the table is described; else asks for it.
  bool ready_for_row_binary() {
    if (encoder_) return true;
    if (!describing_ && !waiting_.empty()) {
      describing_ = true;
      const std::string query = "DESCRIBE TABLE " + table_ + " FORMAT TabSeparated";
      batches_.start(kDescribe, "GET", base_ + "/?query=" + streams_http::uri_encode(query, false),
                     "", headers_, nullptr, kDescribeBody);
    }
    return false;
  }

  // DESCRIBE TABLE answered: the encoder and the INSERT's column list, or
  // every waiting batch reported for a retry with the reason.
  void described(const streams_http::Response& r) {
    describing_ = false;
    std::vector<streams_ch::Column> columns;
    std::string why;
    if (r.result != CURLE_OK) {
      why = shown_ + ": DESCRIBE TABLE " + table_ + ": " + r.error;
    } else if (r.status != 200) {
      why = "ClickHouse " + shown_ + ": DESCRIBE TABLE " + table_ + " (HTTP " +
            std::to_string(r.status) + "): " + r.body.substr(0, streams_http::Batches::kExcerpt);
    } else if (!streams_ch::parse_describe(r.body, &columns, &why)) {
      why = "ClickHouse " + shown_ + ": table " + table_ + ": " + why +
            "; format RowBinary cannot write it (format JSONEachRow can)";
    } else {
      url_ = insert_url(" " + streams_ch::column_list(columns) + " FORMAT RowBinary");
      encoder_ = std::make_shared<streams_ch::RowBinaryEncoder>(std::move(columns));
      return;
    }
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    for (const Part& p : waiting_) queue_.finish({p.id, STREAMS_SINK_RETRY, why});
    waiting_.clear();
  }

  // The part of `group` that holds the row ClickHouse names ("(at row N)",
  // counted from 1 in the INSERT); group.size() when it names none.
  static size_t refused_part(const std::vector<Part>& group, const std::string& body) {
    const size_t at = body.find("(at row ");
    if (at == std::string::npos) return group.size();
    const long row = std::atol(body.c_str() + at + 8);
    if (row <= 0) return group.size();
    size_t first = 1;  // the INSERT's row number of group[i]'s first row
    for (size_t i = 0; i < group.size(); ++i) {
      if (static_cast<size_t>(row) < first + group[i].rows) return i;
      first += group[i].rows;
    }
    return group.size();
  }

  void finished(const streams_http::Response& r) {
    if (r.id == kDescribe) return described(r);
    auto it =
        std::find_if(sent_.begin(), sent_.end(), [&](const auto& s) { return s->id == r.id; });
    if (it == sent_.end()) return;
    std::vector<Part> group = std::move((*it)->group);
    sent_.erase(it);
    if (!group.front().alone) --grouped_in_flight_;
    int32_t outcome = STREAMS_SINK_WRITTEN;
    std::string why;
    if (r.result != CURLE_OK || r.status != 200) {
      encoder_.reset();  // the table may have changed: described again before the next INSERT
    }
    if (r.result != CURLE_OK) {
      outcome = STREAMS_SINK_RETRY;
      why = shown_ + ": " + r.error;
    } else if (r.status != 200) {
      why = "ClickHouse " + shown_ + " (HTTP " + std::to_string(r.status) + "): " + r.body;
      while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
      const int code = error_code(r.body);
      const bool refused =
          std::find(std::begin(kDataErrors), std::end(kDataErrors), code) != std::end(kDataErrors);
      outcome = refused ? STREAMS_SINK_REJECTED : STREAMS_SINK_RETRY;
      if (refused && group.size() > 1) {
        // The batch holding the refused row is refused (the host halves
        // it); the others go again, together. Without a row named, each
        // goes again alone.
        const size_t bad = refused_part(group, r.body);
        if (bad < group.size()) {
          queue_.finish({group[bad].id, outcome, why});
          group.erase(group.begin() + static_cast<std::ptrdiff_t>(bad));
        } else {
          for (Part& p : group) p.alone = true;
        }
        for (Part& p : group) waiting_.insert(waiting_.begin(), std::move(p));
        return;
      }
    }
    const int64_t after = streams_http::asked_delay_ms(r);
    for (const Part& p : group) queue_.finish({p.id, outcome, why, after});
  }

  void report(streams::SinkReports& reports) {
    for (const Outcome& o : reporting_) {
      if (o.outcome == STREAMS_SINK_WRITTEN) {
        reports.written(o.id);
      } else if (o.outcome == STREAMS_SINK_REJECTED) {
        reports.rejected(o.id, o.reason);
      } else {
        streams_http::retry(reports, o.id, o.retry_after_ms, o.reason);
      }
    }
    reporting_.clear();
  }

  static constexpr size_t kInFlight = 2;
  static constexpr uint64_t kDescribe = 0;  // the request id of DESCRIBE TABLE
  static constexpr size_t kDescribeBody = 1 << 20;

  streams_http::Batches batches_;  // sender thread, but wake()
  bool row_binary_ = false;
  std::string table_;  // quoted
  std::string base_;   // the HTTP interface's URL
  std::string url_;    // with the INSERT query (RowBinary: once described)
  // Sender thread: RowBinary, described; shared with the INSERTs begun with it.
  std::shared_ptr<streams_ch::RowBinaryEncoder> encoder_;
  bool describing_ = false;  // sender thread
  std::string shown_;        // the URL without a query, for reasons
  std::vector<std::string> headers_;
  std::vector<Part> waiting_;                // sender thread: not sent yet
  std::vector<std::unique_ptr<Sent>> sent_;  // sender thread: INSERTs under way
  uint64_t requests_ = 0;                    // sender thread
  size_t grouped_in_flight_ = 0;             // sender thread
  streams_sinks::WorkerQueue<Part, Outcome> queue_;
  std::vector<Outcome> reporting_;  // processing thread
  std::thread thread_;
};

}  // namespace

STREAMS_PLUGIN("clickhouse_sink", "1.0.0", streams::sink<ClickHouseSink>("clickhouse"))
