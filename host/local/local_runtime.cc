#include "local/local_runtime.h"
#include "common/bytes.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "common/clock.h"
#include "common/log.h"
#include "local/line_reader.h"
#include "pipeline/chain.h"
#include "pipeline/error_limits.h"
#include "pipeline/error_policy.h"
#include "pipeline/partition_processor.h"
#include "pipeline/sink_set.h"
#include "sinks/file/file_sink.h"
#include "state/store.h"

namespace streams::local {
namespace {

// One sink per Generation::sinks entry, made by its type; sinks that need
// brokers write lines instead, to stdout or their --output path. No
// dead-letter queue: the run applies its error policy.
class LocalSinks final : public pipeline::SinkMaker, public pipeline::SinkListener {
 public:
  explicit LocalSinks(const LocalOptions& options) : unused_(options.outputs) {}

  std::unique_ptr<pipeline::OutputSink> make(const pipeline::Generation& g, size_t i,
                                             pipeline::SinkListener&, std::string* error) override {
    const pipeline::SinkBinding& sink = g.sinks[i];
    auto redirect = unused_.find(sink.name);
    if (redirect != unused_.end() && !sink.type->uses_kafka()) {
      *error = "--output " + sink.name + ": only Kafka sinks are redirected; '" + sink.name +
               "' is a " + sink.type->name() + " sink";
      return nullptr;
    }
    std::unique_ptr<pipeline::OutputSink> made;
    if (!sink.type->uses_kafka()) {
      made = sink.type->create({g, i, this, nullptr, ""}, error);
    } else if (redirect == unused_.end()) {
      made = sinks::FileSink::open("-", /*fsync=*/true, error);
    } else {
      made = sinks::FileSink::open(redirect->second, /*fsync=*/true, error);
      unused_.erase(redirect);
    }
    if (!made) *error = "sink '" + sink.name + "': " + *error;
    return made;
  }
  std::unique_ptr<pipeline::OutputSink> make_dlq(const pipeline::Generation&,
                                                 pipeline::SinkListener&, std::string*) override {
    return nullptr;
  }
  // --output names that matched no sink: false with *error.
  bool all_used(std::string* error) const {
    for (const auto& [name, path] : unused_) {
      *error = "--output " + name + "=" + path + ": the pipeline has no sink named '" + name + "'";
      return false;
    }
    return true;
  }
  // Files and stdout write at once; plugin sinks report later, and what
  // they refuse or fail at fails the run (nothing is committed here, so
  // nothing may be dropped quietly).
  void on_written(uint64_t) override {}
  void on_acknowledged(pipeline::OutputSink&, uint64_t) override {}
  void on_rejected(pipeline::OutputSink& sink, uint64_t, const streams_record&,
                   const char* reason) override {
    log::error("sink " + sink.describe() + " refused an output: " + reason);
    failed_ = true;
  }
  void on_failed(pipeline::OutputSink& sink, const char* reason) override {
    log::error("sink " + sink.describe() + ": " + reason);
    failed_ = true;
  }
  bool failed() const { return failed_; }

 private:
  std::map<std::string, std::string> unused_;
  bool failed_ = false;
};

// Closes a descriptor this runtime opened (-1: none) at the end of the run.
struct Closer {
  int fd;
  ~Closer() {
    if (fd >= 0) ::close(fd);
  }
};

// One input line decoded from its envelope. The record points into this.
struct Envelope {
  std::optional<std::string> key, value;
  std::vector<std::string> header_text;  // name, value, name, value, ...
  std::vector<streams_header> headers;
  int64_t timestamp_ms = -1;

  // False with *error when `line` is not an envelope.
  bool parse(const std::string& line, std::string* error) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) {
      *error = "not a JSON envelope object";
      return false;
    }
    return member(j, "key", &key, error) && member(j, "value", &value, error) &&
           read_headers(j, error) && read_timestamp(j, error);
  }
  streams_record record() {
    headers.clear();
    for (size_t i = 0; i + 1 < header_text.size(); i += 2) {
      headers.push_back({bytes_of(header_text[i]), bytes_of(header_text[i + 1])});
    }
    streams_record r{};
    r.struct_size = sizeof(r);
    if (key) r.key = bytes_of(*key);
    if (value) r.value = bytes_of(*value);
    r.headers = headers.data();
    r.header_count = headers.size();
    r.timestamp_ms = timestamp_ms;
    return r;
  }

 private:
  static bool member(const nlohmann::json& j, const char* name, std::optional<std::string>* out,
                     std::string* error) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return true;
    if (!it->is_string()) {
      *error = std::string("envelope member '") + name + "' must be a string or null";
      return false;
    }
    *out = it->get<std::string>();
    return true;
  }
  bool read_headers(const nlohmann::json& j, std::string* error) {
    auto it = j.find("headers");
    if (it == j.end()) return true;
    if (!it->is_object()) {
      *error = "envelope member 'headers' must be an object of strings";
      return false;
    }
    for (const auto& [name, v] : it->items()) {
      if (!v.is_string()) {
        *error = "envelope header '" + name + "' must be a string";
        return false;
      }
      header_text.push_back(name);
      header_text.push_back(v.get<std::string>());
    }
    return true;
  }
  bool read_timestamp(const nlohmann::json& j, std::string* error) {
    auto it = j.find("timestamp_ms");
    if (it == j.end()) return true;
    if (!it->is_number_integer()) {
      *error = "envelope member 'timestamp_ms' must be an integer";
      return false;
    }
    timestamp_ms = it->get<int64_t>();
    return true;
  }
};

}  // namespace

int run_local(std::shared_ptr<const pipeline::Generation> g, const LocalOptions& options,
              const std::atomic<bool>& stop) {
  LocalSinks maker(options);
  pipeline::SinkSet sinks;
  std::string error;
  if (!sinks.create(*g, maker, maker, &error) || !maker.all_used(&error)) {
    log::error(error);
    return 2;
  }
  int fd = STDIN_FILENO;
  if (options.input != "-") {
    fd = ::open(options.input.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      log::error("cannot read input " + options.input + ": " + std::strerror(errno));
      return 2;
    }
  }
  const Closer close_input{options.input != "-" ? fd : -1};
  // A live input's outputs are flushed whenever it goes quiet.
  LineReader in(
      fd, [&sinks] { sinks.flush(); }, &stop);
  pipeline::NoDlqPolicy policy(options.error_policy);
  pipeline::LimitedErrors errors(policy, g->source_settings().error_limits);
  metrics::PipelineMetrics metrics(g->pipeline.name);
  if (!g->source_settings().dlq.topic.empty()) {
    log::warn(
        "the source's dlq is used with --runtime kafka only; this local run applies "
        "error_policy " +
        std::string(config::to_string(options.error_policy)));
  }
  const std::string topic = options.input == "-" ? "stdin" : options.input;
  pipeline::PartitionProcessor::Options processing;
  processing.topic = topic;
  // State lives for the run; checkpoints only bound the changes pending.
  const std::unique_ptr<state::Backend> state = state::memory_backend();
  processing.state = state.get();
  pipeline::PartitionProcessor processor(g, sinks, errors, metrics, processing);
  if (!processor.assign(0, &error)) {
    log::error(error);
    return 1;
  }
  pipeline::StepBinding input_step;  // names the input in errors of the envelope itself
  input_step.name = "input";
  std::string line, read_error;
  int64_t offset = 0;
  bool ok = true;
  for (; ok && !stop.load(std::memory_order_relaxed) && in.next(&line, &read_error); ++offset) {
    pipeline::SourceRecord input;
    input.offset = offset;
    input.record.struct_size = sizeof(input.record);
    input.record.value = bytes_of(line);
    input.record.timestamp_ms = -1;
    Envelope envelope;
    if (options.json_envelopes && !envelope.parse(line, &error)) {
      const streams_origin origin{sizeof(streams_origin), topic.c_str(), 0, offset};
      ok = errors.on_record_error({&input_step, STREAMS_ERR_INVALID_INPUT, error, &origin,
                                   static_cast<uint64_t>(offset), &input.record, &input.record});
      if (ok && !errors.end_input(&error)) {
        log::error("too many failed records: " + error + "; stopped at " +
                   pipeline::origin_text(origin));
        ok = false;
      }
      continue;
    }
    if (options.json_envelopes) input.record = envelope.record();
    // An input is never paused: sinks with outputs in flight (plugin sinks)
    // are served here until under their bound.
    if (sinks.over(1.0)) {
      sinks.seal();
      while (sinks.over(1.0) && !maker.failed()) sinks.poll(10);
    }
    sinks.poll(0);
    if (processor.process(input, &error) != pipeline::Taken::processed ||
        ((offset & 1023) == 1023 && !processor.checkpoint_committable(&error))) {
      log::error(error);
      ok = false;
    }
  }
  if (ok && !read_error.empty()) {
    log::error(read_error);
    ok = false;
  }
  const bool ended = ok && !stop.load(std::memory_order_relaxed);
  if (ended && !processor.finish(&error)) {
    log::error(error);
    ok = false;
  }
  ok = sinks.flush() && ok;
  const int64_t drain_ms = g->source_settings().drain_timeout_ms;
  if (!sinks.drain(steady_ms() + drain_ms)) {
    log::error(std::to_string(sinks.pending()) + " output(s) unwritten after drain_timeout_ms (" +
               std::to_string(drain_ms) + ")");
    ok = false;
  }
  ok = !maker.failed() && ok;
  log::info("local: " + std::to_string(offset) + " record(s) read, " +
            std::to_string(policy.skipped()) + " skipped" + (ok ? "" : "; stopped"));
  return ok ? 0 : 1;
}

}  // namespace streams::local
