// Transforms for the example pipelines in configs/ (the re-created Sentry
// Streams examples). Written for clarity over speed: they parse JSON with
// nlohmann_json, which allocates per record.
#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <streams/plugin.hpp>
#include <string>
#include <vector>

namespace {

using nlohmann::json;
using streams::Output;
using streams::Record;
using streams::Status;

json config_of(const streams::InitContext& ctx) {
  json c = json::parse(ctx.config_json(), nullptr, false);
  if (!c.is_object()) throw std::invalid_argument("config must be a mapping");
  return c;
}

json parse_object(const Record& in) {
  json j = json::parse(in.value(), nullptr, false);
  if (!j.is_object()) throw std::invalid_argument("expected a JSON object");
  return j;
}

// map: prepends config.text to the value.
class Prefix {
 public:
  explicit Prefix(const streams::InitContext& ctx)
      : text_(config_of(ctx).value("text", std::string())) {}
  Status process(const Record& in, Output& out) {
    buf_.assign(text_).append(in.value());
    return out.emit_value(buf_);
  }

 private:
  std::string text_, buf_;
};

// route: "recent" when the record is at most config.max_age_ms old by the
// wall clock, else "delayed".
class ByAge {
 public:
  explicit ByAge(const streams::InitContext& ctx)
      : max_age_ms_(config_of(ctx).value("max_age_ms", int64_t{600000})) {}
  Status process(const Record& in, Output& out) {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    return out.route_to(now - in.timestamp_ms() <= max_age_ms_ ? "recent" : "delayed");
  }

 private:
  int64_t max_age_ms_;
};

// flat_map: each word of the value, lower-cased.
class Words {
 public:
  Status process(const Record& in, Output& out) {
    for (char c : in.value()) {
      if (std::isalpha(static_cast<unsigned char>(c))) {
        word_.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      } else if (!emit(out)) {
        return Status::fatal;
      }
    }
    return emit(out) ? Status::ok : Status::fatal;
  }

 private:
  bool emit(Output& out) {
    if (word_.empty()) return true;
    const Status s = out.emit_value(word_);
    word_.clear();
    return s != Status::fatal;
  }
  std::string word_;
};

// flat_map: {"service": S, "alerts": [A, ...]} -> {"service": S, "alert": A} each.
class Explode {
 public:
  Status process(const Record& in, Output& out) {
    const json event = parse_object(in);
    const auto alerts = event.find("alerts");
    if (alerts == event.end() || !alerts->is_array()) {
      return out.fail(streams::ErrorKind::invalid_input, "no \"alerts\" list");
    }
    for (const json& alert : *alerts) {
      const std::string text =
          json{{"service", event.value("service", "")}, {"alert", alert}}.dump();
      if (out.emit_value(text) == Status::fatal) return Status::fatal;
    }
    return Status::ok;
  }
};

// map (a group_by key): config.fields of the JSON value joined by '/', or
// the whole value when no fields are configured.
class Key {
 public:
  explicit Key(const streams::InitContext& ctx) {
    for (const json& f : config_of(ctx).value("fields", json::array())) {
      fields_.push_back(f.get<std::string>());
    }
  }
  Status process(const Record& in, Output& out) {
    if (fields_.empty()) return out.emit_value(in.value());
    const json value = parse_object(in);
    std::string key;
    for (const std::string& f : fields_) {
      const auto it = value.find(f);
      if (it == value.end()) return out.fail(streams::ErrorKind::invalid_input, "no field " + f);
      key += (key.empty() ? "" : "/") + (it->is_string() ? it->get<std::string>() : it->dump());
    }
    return out.emit_value(key);
  }

 private:
  std::vector<std::string> fields_;
};

// aggregate: counts records; emits {"key": K, "count": N} ("key" only with
// a group_by).
class Count {
 public:
  using Acc = uint64_t;
  void init(Acc& acc) { acc = 0; }
  Status add(Acc& acc, const Record&) {
    ++acc;
    return Status::ok;
  }
  void merge(Acc& first, const Acc& second) { first += second; }
  Status result(const Acc& acc, const Record& window, Output& out) {
    json j = json::object();
    if (window.has_key()) j["key"] = window.key();
    j["count"] = acc;
    return out.emit_value(j.dump());
  }
};

// aggregate: the window's JSON values as one JSON array, in order.
class List {
 public:
  using Acc = std::string;  // the array's elements, comma-separated
  void init(Acc& acc) { acc.clear(); }
  Status add(Acc& acc, const Record& in) {
    if (!json::accept(in.value())) throw std::invalid_argument("value is not JSON");
    if (!acc.empty()) acc.push_back(',');
    acc.append(in.value());
    return Status::ok;
  }
  void merge(Acc& first, const Acc& second) {
    if (!first.empty() && !second.empty()) first.push_back(',');
    first.append(second);
  }
  Status result(const Acc& acc, const Record&, Output& out) {
    buf_.assign("[").append(acc).append("]");
    return out.emit_value(buf_);
  }

 private:
  std::string buf_;
};

// map over state (declare `state: {}`): the running count of records per
// record key; emits {"key": K, "count": N}. A record without a key fails.
class RunningCount {
 public:
  Status process(const Record& in, Output& out) {
    if (!in.has_key()) return out.fail(streams::ErrorKind::invalid_input, "no record key");
    streams::State state = out.state();
    uint64_t count = 1;
    if (auto seen = state.get(in.key())) count += std::stoull(std::string(*seen));
    const std::string text = std::to_string(count);
    if (Status s = state.put(in.key(), text); s != Status::ok) return s;
    json j = json::object();
    j["key"] = in.key();
    j["count"] = count;
    return out.emit_value(j.dump());
  }
};

// filter over state (declare `state: {ttl_ms: ...}`): drops a record whose
// JSON field config.field (default "id") was seen within the state's ttl_ms.
class Dedup {
 public:
  explicit Dedup(const streams::InitContext& ctx)
      : field_(config_of(ctx).value("field", std::string("id"))) {}
  Status process(const Record& in, Output& out) {
    const json value = parse_object(in);
    const auto it = value.find(field_);
    if (it == value.end()) return out.fail(streams::ErrorKind::invalid_input, "no field " + field_);
    const std::string id = it->is_string() ? it->get<std::string>() : it->dump();
    streams::State state = out.state();
    if (state.get(id)) return Status::drop;
    return state.put(id, "") == Status::ok ? Status::keep : Status::error;
  }

 private:
  std::string field_;
};

}  // namespace

STREAMS_PLUGIN("examples", "1.0.0", streams::map<Prefix>("prefix"), streams::route<ByAge>("by_age"),
               streams::flat_map<Words>("words"), streams::flat_map<Explode>("explode"),
               streams::map<Key>("key"), streams::aggregate<Count>("count"),
               streams::aggregate<List>("list"), streams::map<RunningCount>("running_count"),
               streams::filter<Dedup>("dedup"))
