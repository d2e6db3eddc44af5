// The PostgreSQL sink (libpq): each batch goes in with COPY, in one of
// three functions, by the guarantee they give a replay after a crash:
//
//   postgres                COPY into the table (at-least-once)
//   postgres_upsert         COPY into a staging table, then INSERT ... ON
//                           CONFLICT (key) DO UPDATE or DO NOTHING (idempotent)
//   postgres_exactly_once   rows and the partition's position, (offset,
//                           sequence) of its last row, in one transaction;
//                           rows at or before the position are skipped
//
//   - kind: sink
//     name: rows
//     plugin: postgres_sink
//     function: postgres_exactly_once
//     config:
//       conninfo: "host=db port=5432 dbname=app user=app password=${envvar:PGPASSWORD}"
//       table: metrics
//       columns: {name: name, project: project_id, doc: _value}   # or a list of names
//       key: [name]                  # upsert: the conflict target
//       on_conflict: update          # upsert: or nothing
//       offsets_table: streams_sink_offsets   # exactly-once
//       pipeline: metrics            # exactly-once: the position rows' key
//       timeout_ms: 60000            # a statement unanswered this long is cut
//                                    # and retried (0: no bound)
//
// A batch the server refuses for its data (SQLSTATE class 22 data exception
// or 23 constraint violation), or holding a value that is not a JSON
// object, is reported rejected: the host halves it until the refused rows
// stand alone and dead-letters them with the server's message. Anything
// else (connection lost, server shutting down, a missing table) is retried
// with the host's backoff, on a new connection when the old one broke.
// The processing thread encodes each batch; a writer thread of the instance
// writes what arrived meanwhile, every partition's batches in one
// transaction, and poll() reports them.
#include <libpq-fe.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <streams/plugin.hpp>

#include "../sink_common/worker_queue.h"
#include "row_encoder.h"

namespace {

using streams_pg::Column;

enum class Mode { copy, upsert, exactly_once };

struct Config {
  std::string conninfo;
  std::string table;
  std::vector<Column> columns;
  std::vector<std::string> key;
  bool update = true;  // upsert: DO UPDATE, else DO NOTHING
  std::string offsets_table = "streams_sink_offsets";
  std::string pipeline;
  // A write the server has not answered within this (a lock held
  // elsewhere, a server frozen or cut off, which TCP would notice only
  // after hours) has its connection cut and is retried; 0: no bound.
  int64_t timeout_ms = 60000;
};

std::string text_of(const nlohmann::json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) throw std::runtime_error(std::string("config.") + key + ": required (a string)");
    return "";
  }
  if (!it->is_string() || it->get<std::string>().empty()) {
    throw std::runtime_error(std::string("config.") + key + ": expected a non-empty string");
  }
  return it->get<std::string>();
}

std::vector<std::string> names_of(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end()) return out;
  if (!it->is_array()) throw std::runtime_error(std::string("config.") + key + ": expected a list");
  for (const auto& v : *it) {
    if (!v.is_string()) {
      throw std::runtime_error(std::string("config.") + key + ": expected a list of names");
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

Config parse(std::string_view text, Mode mode) {
  const nlohmann::json j = nlohmann::json::parse(text);
  Config c;
  c.conninfo = text_of(j, "conninfo", true);
  c.table = text_of(j, "table", true);
  auto cols = j.find("columns");
  if (cols == j.end()) throw std::runtime_error("config.columns: required (a list or a map)");
  if (cols->is_array()) {
    for (const std::string& name : names_of(j, "columns")) {
      c.columns.push_back(streams_pg::make_column(name, name));
    }
  } else if (cols->is_object()) {
    for (const auto& [name, field] : cols->items()) {
      if (!field.is_string()) {
        throw std::runtime_error("config.columns." + name +
                                 ": expected a field path or _value, "
                                 "_key, _topic, _partition, _offset, _timestamp");
      }
      c.columns.push_back(streams_pg::make_column(name, field.get<std::string>()));
    }
  } else {
    throw std::runtime_error("config.columns: expected a list of names or a map column: field");
  }
  if (c.columns.empty()) throw std::runtime_error("config.columns: expected at least one column");
  c.key = names_of(j, "key");
  if (mode == Mode::upsert && c.key.empty()) {
    throw std::runtime_error("config.key: required by postgres_upsert (the ON CONFLICT columns)");
  }
  const std::string conflict = text_of(j, "on_conflict", false);
  if (!conflict.empty() && conflict != "update" && conflict != "nothing") {
    throw std::runtime_error("config.on_conflict: expected update or nothing, got '" + conflict +
                             "'");
  }
  c.update = conflict != "nothing";
  if (j.contains("offsets_table")) c.offsets_table = text_of(j, "offsets_table", true);
  c.pipeline = j.contains("pipeline") ? text_of(j, "pipeline", true) : c.table;
  if (auto it = j.find("timeout_ms"); it != j.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      throw std::runtime_error("config.timeout_ms: expected milliseconds, 0 or more");
    }
    c.timeout_ms = it->get<int64_t>();
  }
  return c;
}

// A quoted SQL identifier; "schema.table" quotes each part.
std::string ident(const std::string& name) {
  std::string out;
  size_t at = 0;
  for (;;) {
    const size_t dot = name.find('.', at);
    out += '"';
    for (char ch : name.substr(at, dot == std::string::npos ? std::string::npos : dot - at)) {
      out += ch;
      if (ch == '"') out += '"';
    }
    out += '"';
    if (dot == std::string::npos) return out;
    out += '.';
    at = dot + 1;
  }
}

std::string column_list(const std::vector<Column>& columns) {
  std::string out;
  for (const Column& c : columns) out += (out.empty() ? "" : ", ") + ident(c.name);
  return out;
}

// What a failed statement means for its batch.
enum class Failure { retry, rejected };

struct Result {
  bool ok = true;
  Failure failure = Failure::retry;
  std::string message;
};

class Connection {
 public:
  explicit Connection(std::string conninfo) : conninfo_(std::move(conninfo)) {}
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects when not connected; false with *why.
  bool ready(std::string* why) {
    if (conn_ && PQstatus(conn_) == CONNECTION_OK) return true;
    close();
    const char* keys[] = {"connect_timeout", "dbname", nullptr};
    const char* values[] = {"5", conninfo_.c_str(), nullptr};
    conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (PQstatus(conn_) == CONNECTION_OK) {
      // The server ends a statement (one waiting for a lock too) within a
      // second of this client going away (cancel()). PostgreSQL 14 on; an
      // older server refuses the setting, which changes nothing else.
      PQclear(PQexec(conn_, "SET client_connection_check_interval = 1000"));
      std::lock_guard<std::mutex> lock(cancel_mutex_);
      socket_ = PQsocket(conn_);
      return ++session_, true;
    }
    *why = std::string("cannot connect: ") + PQerrorMessage(conn_);
    close();
    return false;
  }
  void close() {
    {
      std::lock_guard<std::mutex> lock(cancel_mutex_);
      socket_ = -1;
    }
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
  }
  // From any thread, never blocking: ends the statement running on this
  // connection, if connected, by shutting its socket down. The thread in
  // libpq gets a broken connection at once, whatever the server does (a
  // COPY waiting for a lock; a server stopped or cut off, which a cancel
  // request, PQcancel, would wait on for good); the server rolls the
  // statement back when it sees the client gone (see ready()).
  void cancel() {
    std::lock_guard<std::mutex> lock(cancel_mutex_);
    if (socket_ >= 0) ::shutdown(socket_, SHUT_RDWR);
  }
  // Counts connections made: what a session set up is gone when it moved.
  uint64_t session() const { return session_; }

  Result exec(const std::string& sql) { return check(PQexec(conn_, sql.c_str())); }
  Result exec(const std::string& sql, const std::vector<std::string>& params,
              PGresult** keep = nullptr) {
    std::vector<const char*> values;
    for (const std::string& p : params) values.push_back(p.c_str());
    PGresult* res = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                 values.data(), nullptr, nullptr, 0);
    return check(res, keep);
  }
  // COPY ... FROM STDIN with `parts` in turn (COPY text format).
  Result copy(const std::string& sql, const std::vector<std::string_view>& parts) {
    PGresult* res = PQexec(conn_, sql.c_str());
    if (PQresultStatus(res) != PGRES_COPY_IN) return check(res);
    PQclear(res);
    for (std::string_view rows : parts) {
      if (PQputCopyData(conn_, rows.data(), static_cast<int>(rows.size())) != 1) return broken();
    }
    if (PQputCopyEnd(conn_, nullptr) != 1) return broken();
    Result r;
    while (PGresult* next = PQgetResult(conn_)) {
      Result one = check(next);
      if (!one.ok && r.ok) r = one;
    }
    return r;
  }

 private:
  Result broken() {
    Result r{false, Failure::retry, PQerrorMessage(conn_)};
    close();
    return r;
  }
  Result check(PGresult* res, PGresult** keep = nullptr) {
    const ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      if (keep) {
        *keep = res;
      } else {
        PQclear(res);
      }
      return {};
    }
    Result r{false, Failure::retry, res ? PQresultErrorMessage(res) : PQerrorMessage(conn_)};
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    if (state && (std::string_view(state, 2) == "22" || std::string_view(state, 2) == "23")) {
      r.failure = Failure::rejected;
    }
    PQclear(res);
    while (!r.message.empty() && (r.message.back() == '\n' || r.message.back() == ' ')) {
      r.message.pop_back();
    }
    if (PQstatus(conn_) != CONNECTION_OK) close();
    return r;
  }

  std::string conninfo_;
  PGconn* conn_ = nullptr;
  uint64_t session_ = 0;
  std::mutex cancel_mutex_;  // guards socket_, which cancel() uses from another thread
  int socket_ = -1;          // conn_'s, while connected
};

// A batch on its way to the server: its rows encoded on the processing
// thread, written by the writer thread, reported back from poll().
struct Item {
  uint64_t id = 0;
  std::string topic;
  int32_t partition = 0;
  std::string rows;                 // COPY text lines
  std::vector<size_t> starts;       // where each row's line starts in `rows`
  std::vector<int64_t> offsets;     // each row's source offset
  std::vector<uint32_t> sequences;  // and its index among its input's outputs
  Result result;                    // set by the writer
};
using ItemPtr = std::unique_ptr<Item>;

// Writes groups of batches, one transaction per group: the batches of
// every partition that arrived while the last group was being written go
// in together (the processing thread never waits for the server, and the
// server sees a few large transactions rather than one small one per
// partition and turn). A group the server refuses for its data is written
// again batch by batch, so that only the batches holding refused rows are
// reported rejected. Thread: its own; owns the connection.
template <Mode M>
class Writer {
 public:
  explicit Writer(const Config& config) : config_(config), conn_(config.conninfo) {
    const std::string cols = column_list(config_.columns);
    copy_sql_ = "COPY " + ident(config_.table) + " (" + cols + ") FROM STDIN";
    if (!config_.key.empty() && M != Mode::copy) {
      std::string key;
      for (const std::string& k : config_.key) key += (key.empty() ? "" : ", ") + ident(k);
      std::string set;
      for (const Column& c : config_.columns) {
        set += (set.empty() ? "" : ", ") + ident(c.name) + " = EXCLUDED." + ident(c.name);
      }
      stage_sql_ =
          "CREATE TEMP TABLE IF NOT EXISTS streams_stage ON COMMIT DELETE ROWS AS "
          "SELECT " +
          cols + " FROM " + ident(config_.table) + " WITH NO DATA";
      copy_sql_ = "COPY streams_stage (" + cols + ") FROM STDIN";
      // The last row of a key wins within a group (a fresh temporary heap
      // keeps insertion order in ctid; batches go in in arrival order).
      merge_sql_ = "INSERT INTO " + ident(config_.table) + " (" + cols + ") SELECT DISTINCT ON (" +
                   key + ") " + cols + " FROM streams_stage ORDER BY " + key +
                   ", ctid DESC ON CONFLICT (" + key + ") DO " +
                   (config_.update && !set.empty() ? "UPDATE SET " + set : "NOTHING");
    }
    const std::string offsets = ident(config_.offsets_table);
    offsets_ddl_ = "CREATE TABLE IF NOT EXISTS " + offsets +
                   " (pipeline text, topic text, partition integer, last_offset bigint NOT NULL,"
                   " last_sequence integer NOT NULL, PRIMARY KEY (pipeline, topic, partition))";
    claim_sql_ = "INSERT INTO " + offsets + " VALUES ($1, $2, $3, -1, -1) ON CONFLICT DO NOTHING";
    position_sql_ = "SELECT last_offset, last_sequence FROM " + offsets +
                    " WHERE pipeline = $1 AND topic = $2 AND partition = $3 FOR UPDATE";
    advance_sql_ = "UPDATE " + offsets +
                   " SET last_offset = $4, last_sequence = $5 WHERE pipeline = $1 AND topic = $2"
                   " AND partition = $3";
  }

  // From any thread, never blocking: ends the statement being run
  // (Connection::cancel).
  void cancel() { conn_.cancel(); }

  // Sets every item's result.
  void write(const std::vector<ItemPtr>& group) {
    std::string why;
    if (!conn_.ready(&why) || !prepare(&why)) {
      for (const ItemPtr& item : group) item->result = {false, Failure::retry, why};
      return;
    }
    parts_.clear();
    for (const ItemPtr& item : group) parts_.push_back(item.get());
    const Result r = write_together(parts_);
    if (!r.ok && r.failure == Failure::rejected && group.size() > 1) {
      for (const ItemPtr& item : group) {
        parts_.assign(1, item.get());
        item->result = write_together(parts_);
      }
      return;
    }
    for (const ItemPtr& item : group) item->result = r;
  }

 private:
  // Once per connection: the staging and offsets tables.
  bool prepare(std::string* why) {
    if (prepared_session_ == conn_.session()) return true;
    if (!stage_sql_.empty()) {
      Result r = conn_.exec(stage_sql_);
      if (!r.ok) return (*why = r.message, false);
    }
    if (M == Mode::exactly_once) {
      Result r = conn_.exec(offsets_ddl_);
      if (!r.ok) return (*why = r.message, false);
    }
    prepared_session_ = conn_.session();
    return true;
  }

  // One transaction for `items`.
  Result write_together(const std::vector<Item*>& items) {
    rows_.clear();
    const bool txn = M != Mode::copy;
    if (txn) {
      Result r = conn_.exec("BEGIN");
      if (!r.ok) return r;
    }
    advances_.clear();
    for (Item* item : items) {
      size_t first = 0;
      if (M == Mode::exactly_once) {
        Result r = skip_written(*item, &first);
        if (!r.ok) return finish(r);
        if (first < item->starts.size()) advances_.push_back(item);
      }
      if (first < item->starts.size()) {
        rows_.push_back(std::string_view(item->rows).substr(item->starts[first]));
      }
    }
    Result r = rows_.empty() ? Result{} : conn_.copy(copy_sql_, rows_);
    if (r.ok && !merge_sql_.empty() && !rows_.empty()) r = conn_.exec(merge_sql_);
    for (size_t i = 0; r.ok && i < advances_.size(); ++i) {
      const Item& item = *advances_[i];
      r = conn_.exec(advance_sql_,
                     {config_.pipeline, item.topic, std::to_string(item.partition),
                      std::to_string(item.offsets.back()), std::to_string(item.sequences.back())});
    }
    return txn ? finish(r) : r;
  }

  // Exactly-once: *first = the first row past the partition's position,
  // which the transaction holds locked from here on.
  Result skip_written(const Item& item, size_t* first) {
    const std::vector<std::string> where{config_.pipeline, item.topic,
                                         std::to_string(item.partition)};
    Result r = conn_.exec(claim_sql_, where);
    PGresult* res = nullptr;
    if (r.ok) r = conn_.exec(position_sql_, where, &res);
    if (!r.ok) return r;
    const int64_t offset = std::strtoll(PQgetvalue(res, 0, 0), nullptr, 10);
    const int64_t seq = std::strtoll(PQgetvalue(res, 0, 1), nullptr, 10);
    PQclear(res);
    size_t i = 0;
    while (i < item.offsets.size() &&
           (item.offsets[i] < offset ||
            (item.offsets[i] == offset && int64_t(item.sequences[i]) <= seq))) {
      ++i;
    }
    *first = i;
    return {};
  }

  Result finish(Result r) {
    if (r.ok) return conn_.exec("COMMIT");
    conn_.exec("ROLLBACK");
    return r;
  }

  const Config& config_;
  Connection conn_;
  std::string copy_sql_, stage_sql_, merge_sql_;
  std::string offsets_ddl_, claim_sql_, position_sql_, advance_sql_;
  uint64_t prepared_session_ = 0;  // the connection prepare() ran on
  std::vector<Item*> parts_, advances_;
  std::vector<std::string_view> rows_;
};

template <Mode M>
class PostgresSink {
 public:
  static constexpr streams::SinkGuarantee guarantee =
      M == Mode::copy     ? streams::SinkGuarantee::at_least_once
      : M == Mode::upsert ? streams::SinkGuarantee::idempotent
                          : streams::SinkGuarantee::exactly_once;

  explicit PostgresSink(const streams::InitContext& ctx)
      : config_(parse(ctx.config_json(), M)), encoder_(config_.columns) {}

  // A statement the server does not answer (a table lock held elsewhere, a
  // server stopped or unreachable) would keep the writer, and so the
  // host's exit, waiting: its connection is cut (Connection::cancel),
  // again until the writer is out.
  ~PostgresSink() {
    queue_.stop();
    if (!thread_.joinable()) return;
    while (!queue_.wait_stopped(std::chrono::milliseconds(100))) writer_.cancel();
    thread_.join();
  }

  void write(const streams::SinkBatch& b, streams::SinkReports& reports) {
    ItemPtr item = spare();
    std::string why;
    if (!encode(b, item.get(), &why)) return (void)reports.rejected(b.id(), why);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });  // not for a probe
    queue_.push(std::move(item));
  }

  void poll(int timeout_ms, streams::SinkReports& reports) {
    cut_if_unanswered();
    queue_.poll(timeout_ms, &reporting_);
    report(reports);
  }

 private:
  // The batch's rows in COPY text; false with *why when a value is not a
  // JSON object (the batch is refused: the host halves it).
  bool encode(const streams::SinkBatch& b, Item* item, std::string* why) {
    item->id = b.id();
    item->topic.assign(b.topic());
    item->partition = b.partition();
    item->rows.clear();
    item->starts.clear();
    item->offsets.clear();
    item->sequences.clear();
    streams_pg::RecordMeta meta;
    meta.topic = b.topic();
    meta.partition = b.partition();
    for (size_t i = 0; i < b.size(); ++i) {
      const streams::Record rec = b[i];
      meta.key = rec.key();
      meta.has_key = rec.has_key();
      meta.offset = b.offset(i);
      meta.timestamp_ms = rec.timestamp_ms();
      item->starts.push_back(item->rows.size());
      if (!encoder_.append(rec.value(), meta, &item->rows, why)) {
        *why += " (offset " + std::to_string(b.offset(i)) + ")";
        return false;
      }
      item->offsets.push_back(b.offset(i));
      item->sequences.push_back(b.sequence(i));
    }
    return true;
  }

  static int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // Processing thread, never blocking: a write out longer than timeout_ms
  // has its connection cut (Connection::cancel); it fails and is retried.
  void cut_if_unanswered() {
    const int64_t since = writing_since_ms_.load(std::memory_order_relaxed);
    if (config_.timeout_ms <= 0 || since == 0 || now_ms() - since < config_.timeout_ms) return;
    if (!cut_.exchange(true)) writer_.cancel();
  }

  // The writer thread: everything queued meanwhile, as one group.
  void run() {
    std::vector<ItemPtr> group;
    while (queue_.take(&group, /*wait=*/true)) {
      cut_.store(false);
      writing_since_ms_.store(now_ms(), std::memory_order_relaxed);
      try {
        writer_.write(group);
      } catch (const std::exception& e) {  // std::bad_alloc and the like: try again later
        for (ItemPtr& item : group) item->result = {false, Failure::retry, e.what()};
      }
      writing_since_ms_.store(0, std::memory_order_relaxed);
      if (cut_.load()) {
        for (ItemPtr& item : group) {
          if (item->result.ok) continue;
          item->result = {false, Failure::retry,
                          "no answer within timeout_ms (" + std::to_string(config_.timeout_ms) +
                              " ms): the connection was cut and the write is retried (" +
                              item->result.message + ")"};
        }
      }
      for (ItemPtr& item : group) queue_.finish(std::move(item));
      group.clear();
    }
    queue_.stopped();
  }

  void report(streams::SinkReports& reports) {
    for (ItemPtr& item : reporting_) {
      const Result& r = item->result;
      if (r.ok) {
        reports.written(item->id);
      } else if (r.failure == Failure::rejected) {
        reports.rejected(item->id, r.message);
      } else {
        reports.retry(item->id, r.message);
      }
      spare_.push_back(std::move(item));
    }
    reporting_.clear();
  }

  // An Item to fill, with the buffers of one already reported.
  ItemPtr spare() {
    if (spare_.empty()) return std::make_unique<Item>();
    ItemPtr item = std::move(spare_.back());
    spare_.pop_back();
    return item;
  }

  Config config_;
  streams_pg::RowEncoder encoder_;                      // processing thread
  Writer<M> writer_{config_};                           // writer thread
  streams_sinks::WorkerQueue<ItemPtr, ItemPtr> queue_;  // items to write, and written
  std::vector<ItemPtr> reporting_, spare_;              // processing thread
  // When the writer thread began its write (steady ms; 0: idle), and
  // whether the processing thread cut it (cut_if_unanswered).
  std::atomic<int64_t> writing_since_ms_{0};
  std::atomic<bool> cut_{false};
  std::thread thread_;
};

}  // namespace

STREAMS_PLUGIN("postgres_sink", "1.0.0", streams::sink<PostgresSink<Mode::copy>>("postgres"),
               streams::sink<PostgresSink<Mode::upsert>>("postgres_upsert"),
               streams::sink<PostgresSink<Mode::exactly_once>>("postgres_exactly_once"))
