// Functions with known behaviour for chain and loader tests.
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <streams/plugin.hpp>
#include <string>
#include <thread>

namespace {

// Upper-cases the value; key, headers and timestamp inherited.
class Upper {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    buf_.assign(in.value());
    for (auto& c : buf_) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out.emit_value(buf_);
  }

 private:
  std::string buf_;
};

// Keeps values starting with 'a'; a null or empty value is invalid input.
class StartsWithA {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    if (in.value().empty()) return out.fail(streams::ErrorKind::invalid_input, "empty value");
    return in.value()[0] == 'a' ? streams::Status::keep : streams::Status::drop;
  }
};

class Thrower {
 public:
  streams::Status process(const streams::Record&, streams::Output&) {
    throw std::runtime_error("boom");
  }
};

class Fatal {
 public:
  streams::Status process(const streams::Record&, streams::Output&) {
    return streams::Status::fatal;
  }
};

// Breaks the map contract by emitting twice.
class Twice {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    out.emit_value(in.value());
    out.emit_value(in.value());
    return streams::Status::ok;
  }
};

// Emits a new key "k:<value>" and no headers; timestamp inherited.
class Rekey {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    key_.assign("k:").append(in.value());
    streams_record rec{};
    rec.struct_size = sizeof(rec);
    rec.flags = STREAMS_INHERIT_TIMESTAMP;
    rec.key = streams::to_bytes(key_);
    rec.value = in.raw().value;
    return out.emit(rec);
  }

 private:
  std::string key_;
};

// Appends the step's config JSON to the value.
class WithConfig {
 public:
  explicit WithConfig(const streams::InitContext& ctx) : config_(ctx.config_json()) {}
  streams::Status process(const streams::Record& in, streams::Output& out) {
    buf_.assign(in.value()).append(config_);
    return out.emit_value(buf_);
  }

 private:
  std::string config_;
  std::string buf_;
};

// Numbers the records this instance saw: emits "VALUE#N", N from 1.
class Numbered {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    buf_.assign(in.value()).append("#").append(std::to_string(++count_));
    return out.emit_value(buf_);
  }

 private:
  uint64_t count_ = 0;
  std::string buf_;
};

// Blocks, for liveness tests: while the file named by config {"path": P}
// exists, process() waits (checking every 10 ms); then passes the value on.
class BlockWhileFile {
 public:
  explicit BlockWhileFile(const streams::InitContext& ctx) {
    const std::string_view c = ctx.config_json();
    const size_t at = c.find("\"path\":\"");
    if (at == std::string_view::npos) throw std::invalid_argument("config needs a path");
    const size_t start = at + 8;
    path_ = std::string(c.substr(start, c.find('"', start) - start));
  }
  streams::Status process(const streams::Record& in, streams::Output& out) {
    while (::access(path_.c_str(), F_OK) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return out.emit_value(in.value());
  }

 private:
  std::string path_;
};

// Blocks in create, for reload and start-up tests: while the file named by
// config {"path": P} exists, the constructor waits, having written P.waiting
// (for a test to know it waits); then passes values on.
class BlockCreate {
 public:
  explicit BlockCreate(const streams::InitContext& ctx) : wait_(ctx) {}
  streams::Status process(const streams::Record& in, streams::Output& out) {
    return out.emit_value(in.value());
  }

 private:
  struct WaitWhileFile {
    explicit WaitWhileFile(const streams::InitContext& ctx) {
      const std::string c(ctx.config_json());
      const size_t at = c.find("\"path\":\"");
      if (at == std::string::npos) throw std::invalid_argument("config needs a path");
      const std::string path = c.substr(at + 8, c.find('"', at + 8) - at - 8);
      if (::access(path.c_str(), F_OK) == 0) std::ofstream(path + ".waiting").flush();
      while (::access(path.c_str(), F_OK) == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  } wait_;
};

// A slow map, for tests that need a backlog: sleeps config {"us": N}
// microseconds per record, then passes the value on.
class Sleepy {
 public:
  explicit Sleepy(const streams::InitContext& ctx) {
    const std::string_view c = ctx.config_json();
    const size_t at = c.find("\"us\":");
    if (at != std::string_view::npos) us_ = std::atoi(std::string(c.substr(at + 5)).c_str());
  }
  streams::Status process(const streams::Record& in, streams::Output& out) {
    std::this_thread::sleep_for(std::chrono::microseconds(us_));
    return out.emit_value(in.value());
  }

 private:
  int us_ = 0;
};

// Crashes the host on the value given by config {"on": V, "how": "segv"|
// "abort"|"exit"} (a write through a null pointer, abort(), or exit(0));
// passes others on.
class Crash {
 public:
  explicit Crash(const streams::InitContext& ctx) {
    const std::string c(ctx.config_json());
    on_ = field(c, "on");
    how_ = field(c, "how");
  }
  streams::Status process(const streams::Record& in, streams::Output& out) {
    if (in.value() == on_) {
      if (how_ == "abort") std::abort();
      if (how_ == "exit") std::exit(0);  // looks like a clean stop
      segfault();
    }
    return out.emit_value(in.value());
  }

 private:
  static std::string field(const std::string& json, const std::string& name) {
    const size_t at = json.find("\"" + name + "\":\"");
    if (at == std::string::npos) return "";
    const size_t start = at + name.size() + 4;
    return json.substr(start, json.find('"', start) - start);
  }
  // A real fault, not one the sanitizers turn into a report and an exit. The
  // pointer is read through volatile, so the compiler cannot see it is null
  // and drop the path as undefined.
  __attribute__((no_sanitize("address", "undefined"), noinline)) static void segfault() {
    volatile int* volatile nowhere = nullptr;
    *nowhere = 42;
  }

  std::string on_, how_;
};

// Emits each comma-separated part of the value (none for an empty value).
class Split {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    std::string_view rest = in.value();
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view part = rest.substr(0, comma);
      if (out.emit_value(part) == streams::Status::fatal) return streams::Status::fatal;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    return streams::Status::ok;
  }
};

// Routes "name:rest" down branch `name`; a value without ':' chooses none.
class ByPrefix {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    const size_t colon = in.value().find(':');
    if (colon == std::string_view::npos) return streams::Status::ok;
    return out.route_to(in.value().substr(0, colon));
  }
};

// The group key: the value up to its first ':' (all of it without one).
class PrefixKey {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    return out.emit_value(in.value().substr(0, in.value().find(':')));
  }
};

// Counts a window's records; emits "KEY=N" ("N" without a group key).
class Count {
 public:
  using Acc = uint64_t;
  void init(Acc& acc) { acc = 0; }
  streams::Status add(Acc& acc, const streams::Record&) {
    ++acc;
    return streams::Status::ok;
  }
  void merge(Acc& first, const Acc& second) { first += second; }
  streams::Status result(const Acc& acc, const streams::Record& window, streams::Output& out) {
    buf_.clear();
    if (window.has_key()) buf_.append(window.key()).push_back('=');
    buf_.append(std::to_string(acc));
    return out.emit_value(buf_);
  }

 private:
  std::string buf_;
};

// Lists a window's values in order: emits "[v1,v2,...]". A value "bad" is a
// record error.
class Collect {
 public:
  using Acc = std::string;
  void init(Acc& acc) { acc.clear(); }
  streams::Status add(Acc& acc, const streams::Record& in) {
    if (in.value() == "bad") throw std::invalid_argument("collect refuses \"bad\"");
    if (!acc.empty()) acc.push_back(',');
    acc.append(in.value());
    return streams::Status::ok;
  }
  void merge(Acc& first, const Acc& second) {
    if (!first.empty() && !second.empty()) first.push_back(',');
    first.append(second);
  }
  streams::Status result(const Acc& acc, const streams::Record&, streams::Output& out) {
    buf_.assign("[").append(acc).append("]");
    return out.emit_value(buf_);
  }

 private:
  std::string buf_;
};

// Fails on purpose, for DLQ tests: a value containing "bad" is a processing
// error, "detail" one with details (one the host refuses: a reserved name),
// "boom" throws, "garble" becomes text that is not JSON; others pass.
// With config {fixed: true} every value passes.
class Picky {
 public:
  explicit Picky(const streams::InitContext& ctx)
      : fixed_(ctx.config_json().find("\"fixed\":true") != std::string_view::npos) {}
  streams::Status process(const streams::Record& in, streams::Output& out) {
    const std::string_view v = in.value();
    if (!fixed_ && v.find("bad") != std::string_view::npos) {
      return out.fail(streams::ErrorKind::processing, "picky refuses \"bad\"");
    }
    if (!fixed_ && v.find("detail") != std::string_view::npos) {
      const bool took = out.detail("why", "because");
      const bool forged = out.detail("step", "forged");
      return out.fail(
          streams::ErrorKind::processing,
          std::string("details taken: ") + (took ? "yes" : "no") + ", " + (forged ? "yes" : "no"));
    }
    if (!fixed_ && v.find("boom") != std::string_view::npos) {
      throw std::runtime_error("picky exploded on \"boom\"");
    }
    if (!fixed_ && v.find("garble") != std::string_view::npos) return out.emit_value("{garbled");
    return out.emit_value(v);
  }

 private:
  bool fixed_;
};

// map over state: the value is a command, the output its result.
//   put K V | get K | erase K | scan P (keys=values, comma-separated)
//   nested P (a state call inside a scan's visit) | big N (puts N bytes at "big")
class StateOps {
  using Output = streams::Output;
  using Record = streams::Record;
  using Status = streams::Status;

 public:
  Status process(const Record& in, Output& out) {
    const std::string_view v = in.value();
    const size_t sp = v.find(' ');
    const std::string_view op = v.substr(0, sp);
    const std::string_view rest = sp == std::string_view::npos ? "" : v.substr(sp + 1);
    const size_t sp2 = rest.find(' ');
    const std::string_view a = rest.substr(0, sp2);
    const std::string_view b = sp2 == std::string_view::npos ? "" : rest.substr(sp2 + 1);
    streams::State state = out.state();
    if (op == "put") return result(out, state.put(a, b));
    if (op == "erase") return result(out, state.erase(a));
    if (op == "get") {
      const auto got = state.get(a);
      return out.emit_value(got ? std::string(*got) : std::string("(none)"));
    }
    if (op == "big")
      return result(out, state.put("big", std::string(std::stoul(std::string(a)), 'x')));
    if (op == "scan" || op == "nested") {
      buf_.clear();
      const bool nested = op == "nested";
      const Status s = state.scan(a, [&](std::string_view k, std::string_view val) {
        if (nested) state.get(k);
        buf_.append(buf_.empty() ? "" : ",").append(k).append("=").append(val);
      });
      if (s != Status::ok) return s;
      return out.emit_value(buf_);
    }
    return out.fail(streams::ErrorKind::invalid_input, "unknown command");
  }

 private:
  static Status result(Output& out, Status s) { return s == Status::ok ? out.emit_value("ok") : s; }
  std::string buf_;
};

// state_ops at state version 2 (ABI 1.5): a value an older version wrote
// becomes "VALUE@vN"; "gone" is erased; "broken" fails the input reading it.
class StateOpsV2 : public StateOps {
 public:
  static constexpr uint32_t state_version = 2;
  streams::Status migrate(uint32_t from, std::string_view value, std::string& out) {
    if (value == "gone") return streams::Status::drop;
    if (value == "broken") throw std::runtime_error("cannot convert \"broken\"");
    out.assign(value).append("@v").append(std::to_string(from));
    return streams::Status::ok;
  }
};

// share (ABI 1.8): `sharer` (filter) keeps every input and, unless its
// value starts with "noshare", shares "seen:<value>"; `share_reader` (map)
// emits what the step before shared, or "none:<value>".
const char kSeenTag = 0;

class Sharer {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    if (in.value().substr(0, 7) == "noshare") return streams::Status::keep;
    seen_.assign("seen:").append(in.value());
    if (!out.share(&kSeenTag, &seen_)) return out.fail(streams::ErrorKind::processing, "refused");
    return streams::Status::keep;
  }

 private:
  std::string seen_;  // shared: valid until the next call
};

class ShareReader {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    if (const auto* seen = out.shared_as<std::string>(&kSeenTag)) return out.emit_value(*seen);
    return out.emit_value(std::string("none:").append(in.value()));
  }
};

}  // namespace

// A sink that keeps nothing: every batch reported written at once.
class Discard {
 public:
  static constexpr streams::SinkGuarantee guarantee = streams::SinkGuarantee::at_least_once;
  explicit Discard(const streams::InitContext&) {}
  void write(const streams::SinkBatch& b, streams::SinkReports& reports) {
    reports.written(b.id());
  }
  void poll(int, streams::SinkReports&) {}
};

// Passes the value on, counting records and value bytes in the step's
// counters (ABI 1.11); also asks for a name the host refuses. Its gauges and
// histogram (ABI 1.12): the last value's size, the instances alive (each adds
// 1, and takes it back when destroyed), every value's size in buckets 1, 4,
// 16; and a gauge whose series would be the counter's (refused).
class Counted {
 public:
  explicit Counted(const streams::InitContext& ctx)
      : records_(ctx.counter("records")),
        bytes_(ctx.counter("value_bytes")),
        refused_(ctx.counter("Not-A-Name")),
        last_size_(ctx.gauge("last_value_bytes")),
        instances_(ctx.gauge("instances")),
        clashing_(ctx.gauge("records_total")),
        sizes_(ctx.histogram("value_sizes", {1, 4, 16})) {
    instances_.add(1);
  }
  ~Counted() { instances_.add(-1); }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
  streams::Status process(const streams::Record& in, streams::Output& out) {
    records_.add();
    bytes_.add(in.value().size());
    refused_.add();  // counts nothing
    last_size_.set(static_cast<double>(in.value().size()));
    clashing_.set(1);  // keeps nothing
    sizes_.observe(static_cast<double>(in.value().size()));
    return out.emit_value(in.value());
  }

 private:
  streams::Counter records_, bytes_, refused_;
  streams::Gauge last_size_, instances_, clashing_;
  streams::Histogram sizes_;
};

STREAMS_PLUGIN("testkit", "2.3.4", streams::map<Upper>("upper"),
               streams::filter<StartsWithA>("starts_with_a"), streams::map<Thrower>("thrower"),
               streams::map<Fatal>("fatal"), streams::map<Twice>("twice"),
               streams::map<Rekey>("rekey"), streams::map<WithConfig>("with_config"),
               streams::flat_map<Split>("split"), streams::route<ByPrefix>("by_prefix"),
               streams::map<PrefixKey>("prefix_key"), streams::aggregate<Count>("count"),
               streams::aggregate<Collect>("collect"), streams::map<Picky>("picky"),
               streams::map<Numbered>("numbered"), streams::map<BlockWhileFile>("block_while_file"),
               streams::map<Sleepy>("sleepy"), streams::map<Crash>("crash"),
               streams::map<BlockCreate>("block_create"), streams::map<StateOps>("state_ops"),
               streams::map<StateOpsV2>("state_ops_v2"), streams::filter<Sharer>("sharer"),
               streams::map<ShareReader>("share_reader"), streams::sink<Discard>("discard"),
               streams::map<Counted>("counted"))
