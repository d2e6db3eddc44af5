// The engine behind streams/pipeline_driver.hpp: the runtimes' partition
// processor over the pipeline, on one partition, with recording sinks and an
// error collector.
#include <streams/pipeline_driver.hpp>

#include <map>

#include "common/bytes.h"
#include "common/clock.h"
#include "metrics/plugin_metrics.h"
#include "pipeline/chain.h"
#include "pipeline/error_limits.h"
#include "pipeline/operator.h"
#include "pipeline/partition_processor.h"
#include "pipeline/swap_mailbox.h"
#include "plugin/plugin_registry.h"
#include "sinks/registry.h"

namespace streams::test_driver {
namespace {

std::optional<std::string> text(streams_bytes b) {
  if (!b.data) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(b.data), b.size);
}

// Absent (a null view) when `s` is empty.
streams_bytes optional_bytes(const std::optional<std::string>& s) {
  return s ? streams::bytes_of(*s) : streams_bytes{};
}

class RecordingSink final : public pipeline::OutputSink {
 public:
  pipeline::WriteResult write(const streams_record& r, uint64_t, const streams_origin*,
                              std::string*) override {
    Output out;
    out.key = text(r.key);
    out.value = text(r.value);
    out.timestamp_ms = r.timestamp_ms;
    for (size_t i = 0; i < r.header_count; ++i) {
      out.headers.emplace_back(text(r.headers[i].name).value_or(""),
                               text(r.headers[i].value).value_or(""));
    }
    written.push_back(std::move(out));
    return pipeline::WriteResult::ok;
  }
  std::string describe() const override { return "recording"; }
  std::vector<Output> written;
};

class Collector final : public pipeline::ErrorHandler {
 public:
  bool on_record_error(const pipeline::RecordError& e) override {
    seen.push_back({e.step->name, e.kind, std::string(e.message), e.origin->offset});
    return true;
  }
  std::vector<RecordError> seen;
};

// Recording sinks, which take outputs at once (as if delivered).
class RecordingMaker final : public pipeline::SinkMaker, public pipeline::SinkListener {
 public:
  std::unique_ptr<pipeline::OutputSink> make(const pipeline::Generation&, size_t,
                                             pipeline::SinkListener&, std::string*) override {
    made.push_back(new RecordingSink);
    return std::unique_ptr<pipeline::OutputSink>(made.back());
  }
  std::unique_ptr<pipeline::OutputSink> make_dlq(const pipeline::Generation&,
                                                 pipeline::SinkListener&,
                                                 std::string* error) override {
    *error = "the pipeline driver has no dead-letter queue";
    return nullptr;
  }
  // Recording sinks never call these.
  void on_written(uint64_t) override {}
  void on_acknowledged(pipeline::OutputSink&, uint64_t) override {}
  void on_rejected(pipeline::OutputSink&, uint64_t, const streams_record&, const char*) override {}
  void on_failed(pipeline::OutputSink&, const char*) override {}
  std::vector<RecordingSink*> made;  // owned by the SinkSet, by Generation::sinks index
};

std::string diagnostics(const config::Diagnostics& diag) {
  std::string out;
  for (const auto& e : diag.errors()) out += (out.empty() ? "" : "\n") + e;
  return out;
}

}  // namespace

class PipelineDriver::Impl {
 public:
  Impl(const std::string& pipeline_path, const std::string& plugins_dir)
      : plugins_dir_(plugins_dir), generation_(build(pipeline_path)) {
    std::string error;
    if (!sinks_.create(*generation_, maker_, maker_, &error)) throw std::runtime_error(error);
    for (size_t i = 0; i < generation_->sinks.size(); ++i) {
      by_name_[generation_->sinks[i].name] = i;
    }
    processor_ = std::make_unique<pipeline::PartitionProcessor>(generation_, sinks_, limited_,
                                                                metrics_, options());
    if (!processor_->assign(0, &error)) throw std::runtime_error(error);
    counted_before_ = counted();
  }

  // The plugin counters' counts by (family, step): now, and at the start.
  static std::map<std::pair<std::string, std::string>, uint64_t> counted() {
    std::map<std::pair<std::string, std::string>, uint64_t> out;
    metrics::plugin_metrics().each_counter(
        [&out](const std::string& family, const std::string& step, uint64_t n) {
          out[{family, step}] = n;
        });
    return out;
  }
  uint64_t counter(const std::string& step, const std::string& name) const {
    const std::pair<std::string, std::string> key{"plugin_" + name + "_total", step};
    const auto at = [&key](const auto& counts) {
      const auto it = counts.find(key);
      return it == counts.end() ? uint64_t{0} : it->second;
    };
    return at(counted()) - at(counted_before_);
  }

  bool send(const Input& input) {
    if (stopped_) return false;
    std::vector<streams_header> headers;
    for (const auto& [name, value] : input.headers) {
      headers.push_back({bytes_of(name), bytes_of(value)});
    }
    streams_record record{};
    record.struct_size = sizeof(record);
    record.key = optional_bytes(input.key);
    record.value = optional_bytes(input.value);
    record.headers = headers.data();
    record.header_count = headers.size();
    record.timestamp_ms = input.timestamp_ms;
    pipeline::SourceRecord in;
    in.partition = 0;
    in.offset = next_offset_;
    in.record = record;
    if (processor_->paused() != 0) {
      resumed_.clear();
      processor_->take_resumable(&resumed_);
    }
    std::string why;
    switch (processor_->process(in, &why)) {
      case pipeline::Taken::processed:
        ++next_offset_;
        return true;
      case pipeline::Taken::fatal:
        stopped_ = true;
        return false;
      default:  // paused: open batches and windows hold the source's in-flight bounds
        return false;
    }
  }

  bool advance_time(int64_t ms) {
    clock_offset_ms_ += ms;
    std::string why;
    return !stopped_ && check(processor_->tick(steady_ms() + clock_offset_ms_, &why));
  }
  bool finish() {
    std::string why;
    return !stopped_ && check(processor_->finish(&why));
  }

  bool commit() {
    if (stopped_) return false;
    pipeline::Partition* p = processor_->find(0);
    std::string why;
    if (!check(processor_->prepare(*p, processor_->processed_end(*p), &why))) {
      throw std::runtime_error("commit: " + why);
    }
    const int64_t at = processor_->durable(*p, processor_->committable(*p), &why);
    if (!check(why.empty()) || (at >= 0 && !check(processor_->checkpoint(*p, at, &why)))) {
      throw std::runtime_error("commit: " + why);
    }
    if (at < 0) return true;
    committed_ = at;
    return true;
  }
  int64_t restart(const std::string& pipeline_path) {
    processor_->revoke(0);
    std::string error;
    if (!pipeline_path.empty()) {
      auto next = build(pipeline_path);
      if (sink_names(*next) != sink_names(*generation_)) {
        throw std::runtime_error("a restart must keep the sinks");
      }
      processor_.reset();
      generation_ = std::move(next);
      processor_ = std::make_unique<pipeline::PartitionProcessor>(generation_, sinks_, limited_,
                                                                  metrics_, options());
    }
    if (!processor_->assign(0, &error)) throw std::runtime_error(error);
    // As the Kafka runtime: the state resolves at the committed offset.
    pipeline::Partition* p = processor_->find(0);
    p->start_at = committed_;
    if (!processor_->resolve(*p, committed_, &error)) throw std::runtime_error(error);
    stopped_ = false;
    next_offset_ = committed_;
    return committed_;
  }

  const std::vector<Output>& outputs(const std::string& sink) const {
    auto it = by_name_.find(sink);
    if (it == by_name_.end()) throw std::out_of_range("the pipeline has no sink '" + sink + "'");
    return maker_.made[it->second]->written;
  }
  const std::vector<RecordError>& errors() const { return errors_.seen; }
  int64_t committable() const {
    const pipeline::Partition* p = processor_->find(0);
    const int64_t at = p ? processor_->committable(*p) : -1;
    return at < 0 ? 0 : at;
  }
  void reload(const std::string& pipeline_path) {
    auto next = build(pipeline_path);
    if (sink_names(*next) != sink_names(*generation_)) {
      throw std::runtime_error("a reload must keep the sinks");
    }
    pipeline::SwapMailbox mailbox;
    auto answer = mailbox.post(next);
    mailbox.take();
    std::string fatal;
    pipeline::SwapOutcome outcome = processor_->switch_to(next, mailbox, &fatal);
    const bool ok = outcome.ok;
    const std::string error = outcome.error;
    mailbox.answer(std::move(outcome));
    if (!ok) throw std::runtime_error("reload refused: " + error);
    generation_ = std::move(next);
    check(fatal.empty());
  }

  std::optional<std::string> state(const std::string& step, const std::string& key) {
    pipeline::Partition* p = processor_->find(0);
    state::Table* table = p && p->state ? p->state->find(step) : nullptr;
    if (!table) throw std::out_of_range("step '" + step + "' keeps no state");
    std::string_view value;
    std::string error;
    switch (table->get(key, &value, &error)) {
      case state::Found::yes:
        return std::string(value);
      case state::Found::no:
        return std::nullopt;
      case state::Found::error:
        break;
    }
    throw std::runtime_error(error);
  }

 private:
  pipeline::PartitionProcessor::Options options() {
    pipeline::PartitionProcessor::Options o;
    o.state = state_.get();
    return o;
  }
  static std::vector<std::string> sink_names(const pipeline::Generation& g) {
    std::vector<std::string> out;
    for (const auto& sink : g.sinks) out.push_back(sink.name);
    return out;
  }
  bool check(bool ok) {
    if (!ok) stopped_ = true;
    return !stopped_;
  }

  std::shared_ptr<const pipeline::Generation> build(const std::string& pipeline_path) {
    config::Diagnostics diag;
    config::PipelineSpec spec;
    config::DeploymentConfig deployment;
    deployment.segments.emplace_back();
    std::shared_ptr<const pipeline::Generation> g;
    if (config::load_pipeline_spec(pipeline_path, {pipeline::step_types(), sinks::sink_types()},
                                   &spec, diag)) {
      plugin::PluginRegistry registry(plugins_dir_);
      g = pipeline::build_generation(std::move(spec), std::move(deployment), 0, registry, diag,
                                     /*need_brokers=*/false);
    }
    if (!g) throw std::runtime_error(diagnostics(diag));
    return g;
  }

  std::string plugins_dir_;
  std::shared_ptr<const pipeline::Generation> generation_;
  RecordingMaker maker_;
  pipeline::SinkSet sinks_;
  std::map<std::string, size_t> by_name_;
  Collector errors_;
  pipeline::LimitedErrors limited_{errors_, config::ErrorLimits{}};
  metrics::PipelineMetrics metrics_{"pipeline_driver"};
  std::unique_ptr<state::Backend> state_ = state::memory_backend();
  std::unique_ptr<pipeline::PartitionProcessor> processor_;  // before the sinks go
  std::vector<pipeline::PartitionOffset> resumed_;
  int64_t next_offset_ = 0;
  int64_t committed_ = 0;  // the last commit()
  int64_t clock_offset_ms_ = 0;
  bool stopped_ = false;
  std::map<std::pair<std::string, std::string>, uint64_t> counted_before_;
};

PipelineDriver::PipelineDriver(const std::string& pipeline_path, const std::string& plugins_dir)
    : impl_(std::make_unique<Impl>(pipeline_path, plugins_dir)) {}
PipelineDriver::~PipelineDriver() = default;
bool PipelineDriver::send(const Input& input) { return impl_->send(input); }
bool PipelineDriver::advance_time(int64_t ms) { return impl_->advance_time(ms); }
bool PipelineDriver::finish() { return impl_->finish(); }
bool PipelineDriver::commit() { return impl_->commit(); }
int64_t PipelineDriver::restart(const std::string& pipeline_path) {
  return impl_->restart(pipeline_path);
}
void PipelineDriver::reload(const std::string& pipeline_path) { impl_->reload(pipeline_path); }
std::optional<std::string> PipelineDriver::state(const std::string& step, const std::string& key) {
  return impl_->state(step, key);
}
const std::vector<Output>& PipelineDriver::outputs(const std::string& sink) const {
  return impl_->outputs(sink);
}
std::vector<std::string> PipelineDriver::values(const std::string& sink) const {
  std::vector<std::string> out;
  for (const Output& o : outputs(sink)) out.push_back(o.value.value_or(""));
  return out;
}
const std::vector<RecordError>& PipelineDriver::errors() const { return impl_->errors(); }
uint64_t PipelineDriver::counter(const std::string& step, const std::string& name) const {
  return impl_->counter(step, name);
}

std::optional<double> PipelineDriver::gauge(const std::string& step,
                                            const std::string& name) const {
  std::optional<double> value;
  metrics::plugin_metrics().each_gauge(
      [&](const std::string& family, const std::string& s, double v) {
        if (s == step && family == "plugin_" + name) value = v;
      });
  return value;
}
int64_t PipelineDriver::committable() const { return impl_->committable(); }

}  // namespace streams::test_driver
