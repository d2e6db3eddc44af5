// The engine behind streams/pipeline_driver.hpp: a Chain over the pipeline
// with recording sinks, an error collector and an offset tracker.
#include <streams/pipeline_driver.hpp>

#include <map>

#include "common/bytes.h"
#include "common/clock.h"
#include "pipeline/chain.h"
#include "pipeline/offset_tracker.h"
#include "pipeline/operator.h"
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
  pipeline::WriteResult write(const streams_record& r, uint64_t, std::string*) override {
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

// Tokens are tracker slots.
class TrackerHolds final : public pipeline::InputHolds {
 public:
  explicit TrackerHolds(pipeline::OffsetTracker& t) : tracker_(t) {}
  void hold(uint64_t token) override { tracker_.hold(static_cast<uint32_t>(token)); }
  void release(uint64_t token) override { tracker_.release(static_cast<uint32_t>(token)); }

 private:
  pipeline::OffsetTracker& tracker_;
};

std::string diagnostics(const config::Diagnostics& diag) {
  std::string out;
  for (const auto& e : diag.errors()) out += (out.empty() ? "" : "\n") + e;
  return out;
}

}  // namespace

class PipelineDriver::Impl {
 public:
  Impl(const std::string& pipeline_path, const std::string& plugins_dir) {
    config::Diagnostics diag;
    config::PipelineSpec spec;
    config::DeploymentConfig deployment;
    deployment.segments.emplace_back();
    if (config::load_pipeline_spec(pipeline_path, {pipeline::step_types(), sinks::sink_types()},
                                   &spec, diag)) {
      plugin::PluginRegistry registry(plugins_dir);
      generation_ = pipeline::build_generation(std::move(spec), std::move(deployment), 0, registry,
                                               diag, /*need_brokers=*/false);
    }
    if (!generation_) throw std::runtime_error(diagnostics(diag));
    std::vector<pipeline::OutputSink*> ptrs;
    for (size_t i = 0; i < generation_->sinks.size(); ++i) {
      sinks_.push_back(std::make_unique<RecordingSink>());
      ptrs.push_back(sinks_.back().get());
      by_name_[generation_->sinks[i].name] = i;
    }
    std::string error;
    chain_ = pipeline::Chain::create(generation_, ptrs, errors_, metrics_, &error, &holds_);
    if (!chain_) throw std::runtime_error(error);
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
    const streams_origin origin{sizeof(streams_origin), "test", 0, next_offset_};
    const uint32_t slot = tracker_.begin(next_offset_++);
    return check(chain_->process(record, origin, slot)) && (tracker_.release(slot), true);
  }

  bool advance_time(int64_t ms) {
    clock_offset_ms_ += ms;
    return !stopped_ && check(chain_->tick(steady_ms() + clock_offset_ms_));
  }
  bool finish() { return !stopped_ && check(chain_->finish()); }

  const std::vector<Output>& outputs(const std::string& sink) const {
    auto it = by_name_.find(sink);
    if (it == by_name_.end()) throw std::out_of_range("the pipeline has no sink '" + sink + "'");
    return sinks_[it->second]->written;
  }
  const std::vector<RecordError>& errors() const { return errors_.seen; }
  int64_t committable() const { return tracker_.committable() < 0 ? 0 : tracker_.committable(); }

 private:
  bool check(pipeline::ChainResult result) {
    if (result == pipeline::ChainResult::fatal) stopped_ = true;
    return !stopped_;
  }

  std::shared_ptr<const pipeline::Generation> generation_;
  std::vector<std::unique_ptr<RecordingSink>> sinks_;
  std::map<std::string, size_t> by_name_;
  Collector errors_;
  metrics::PipelineMetrics metrics_{"pipeline_driver"};
  pipeline::OffsetTracker tracker_{1u << 20};
  TrackerHolds holds_{tracker_};
  std::unique_ptr<pipeline::Chain> chain_;
  int64_t next_offset_ = 0;
  int64_t clock_offset_ms_ = 0;
  bool stopped_ = false;
};

PipelineDriver::PipelineDriver(const std::string& pipeline_path, const std::string& plugins_dir)
    : impl_(std::make_unique<Impl>(pipeline_path, plugins_dir)) {}
PipelineDriver::~PipelineDriver() = default;
bool PipelineDriver::send(const Input& input) { return impl_->send(input); }
bool PipelineDriver::advance_time(int64_t ms) { return impl_->advance_time(ms); }
bool PipelineDriver::finish() { return impl_->finish(); }
const std::vector<Output>& PipelineDriver::outputs(const std::string& sink) const {
  return impl_->outputs(sink);
}
std::vector<std::string> PipelineDriver::values(const std::string& sink) const {
  std::vector<std::string> out;
  for (const Output& o : outputs(sink)) out.push_back(o.value.value_or(""));
  return out;
}
const std::vector<RecordError>& PipelineDriver::errors() const { return impl_->errors(); }
int64_t PipelineDriver::committable() const { return impl_->committable(); }

}  // namespace streams::test_driver
