#include "sinks/devnull/devnull_sink.h"

#include <chrono>
#include <random>
#include <thread>

#include "common/clock.h"
#include "config/step_readers.h"
#include "config/yaml_reader.h"
#include "pipeline/generation.h"
#include "pipeline/sink.h"

namespace streams::sinks {
namespace {

class DevNullSink final : public pipeline::OutputSink {
 public:
  DevNullSink(const DevNullWrites& writes, pipeline::SinkListener* listener)
      : simulated_(writes.simulated()),
        writes_(writes, std::random_device{}()),
        listener_(listener) {}

  pipeline::WriteResult write(const streams_record& record, uint64_t token, const streams_origin*,
                              std::string*) override {
    if (!simulated_) return pipeline::WriteResult::ok;
    if (listener_) listener_->on_written(token);
    writes_.take(token, record.key.size + record.value.size, steady_ms());
    return pipeline::WriteResult::ok;
  }
  // Waits for the next simulated event within `timeout_ms`, then
  // acknowledges what it ended.
  void poll(int timeout_ms) override {
    if (!simulated_) return;
    int64_t now = steady_ms();
    const int64_t next = writes_.next_event_ms();
    if (timeout_ms > 0 && next > now && next != SimulatedWrites::kNever) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::min<int64_t>(next - now, timeout_ms)));
      now = steady_ms();
    }
    writes_.advance(now, [this](uint64_t token) {
      if (listener_) listener_->on_acknowledged(*this, token);
    });
  }
  // Without a listener nothing waits for acknowledgements: the writes end
  // here.
  bool flush() override {
    if (!simulated_ || listener_) return true;
    seal();
    while (writes_.pending() > 0) poll(100);
    return true;
  }
  void seal() override {
    if (simulated_) writes_.close(steady_ms());
  }
  void seal_partition(int32_t) override { seal(); }
  uint64_t pending() const override { return writes_.pending(); }
  uint64_t pending_bytes() const override { return writes_.pending_bytes(); }
  int64_t waiting_ms(int64_t now_ms) const override {
    return writes_.pending() > 0 ? now_ms - writes_.oldest_ms() : 0;
  }
  std::string describe() const override { return "devnull"; }
  std::string describe_wait(int64_t wait_ms) const override {
    return std::to_string(pending()) + " output(s) in simulated writes for " +
           std::to_string(wait_ms / 1000) + " s (its average_sleep_time_ms, a batch after another)";
  }

 private:
  const bool simulated_;
  SimulatedWrites writes_;
  pipeline::SinkListener* const listener_;
};

struct DevNullSettings final : config::SinkSettings {
  DevNullWrites writes;
  std::string target() const override { return "devnull"; }
  std::string describe() const override {
    if (!writes.simulated()) return "devnull";
    std::string out = "devnull, writes of";
    if (writes.batch_size > 0) out += " " + std::to_string(writes.batch_size) + " records or";
    out += " " + std::to_string(writes.batch_time()) + " ms";
    char sleep[96];
    const double most = writes.max_sleep_ms < 0 ? 2 * writes.average_sleep_ms : writes.max_sleep_ms;
    std::snprintf(sleep, sizeof sleep, " taking ~%g ms (at most %g)", writes.average_sleep_ms,
                  most);
    return out + sleep;
  }
  bool equals(const config::SinkSettings& other) const override {
    auto* o = dynamic_cast<const DevNullSettings*>(&other);
    return o && o->writes == writes;
  }
};

class DevNullSinkType final : public config::SinkType {
 public:
  const char* name() const override { return "devnull"; }
  std::shared_ptr<const config::SinkSettings> read(config::YamlReader& r, const YAML::Node& node,
                                                   const std::string& key) const override {
    r.check_keys(node, key,
                 {"kind", "name", "type", "batch_size", "batch_time_ms", "average_sleep_time_ms",
                  "max_sleep_time_ms"});
    auto s = std::make_shared<DevNullSettings>();
    const double most = static_cast<double>(config::kMaxMs);
    if (auto n = r.integer(node, key, "batch_size", 1, config::kMaxCount)) {
      s->writes.batch_size = *n;
    }
    if (auto ms = r.number(node, key, "batch_time_ms", 1, most)) {
      s->writes.batch_time_ms = static_cast<int64_t>(*ms);
    }
    if (auto ms = r.number(node, key, "average_sleep_time_ms", 0, most)) {
      s->writes.average_sleep_ms = *ms;
    }
    if (auto ms = r.number(node, key, "max_sleep_time_ms", 0, most)) s->writes.max_sleep_ms = *ms;
    return s;
  }
  config::StepOverrides deploy(std::shared_ptr<const config::SinkSettings>* settings,
                               const config::StepOverrides& entry) const override {
    auto s = std::make_shared<DevNullSettings>(static_cast<const DevNullSettings&>(**settings));
    DevNullWrites& w = s->writes;
    if (entry.batch_size) w.batch_size = *entry.batch_size;
    if (entry.batch_wait_ms) w.batch_time_ms = *entry.batch_wait_ms;
    if (entry.average_sleep_ms) w.average_sleep_ms = *entry.average_sleep_ms;
    if (entry.max_sleep_ms) w.max_sleep_ms = *entry.max_sleep_ms;
    *settings = std::move(s);
    config::StepOverrides left;
    left.bucket = entry.bucket;
    return left;
  }
  // As deployed: batches without a sleep are said to do nothing.
  std::shared_ptr<const config::SinkSettings> bind(std::shared_ptr<const config::SinkSettings> read,
                                                   const pipeline::Generation&,
                                                   const std::string& name,
                                                   BindContext& ctx) const override {
    const DevNullWrites& w = static_cast<const DevNullSettings&>(*read).writes;
    if (!w.simulated() && (w.batch_size > 0 || w.batch_time_ms > 0 || w.max_sleep_ms >= 0)) {
      ctx.diag.warn(ctx.at, "devnull sink '" + name +
                                "': its batches are simulated writes, which take "
                                "average_sleep_time_ms (above 0): without it every output "
                                "counts as stored once taken");
    }
    return read;
  }
  std::unique_ptr<pipeline::OutputSink> create(const config::SinkContext& c,
                                               std::string*) const override {
    const auto& s = static_cast<const DevNullSettings&>(*c.generation.sinks[c.index].settings);
    return make_devnull_sink(s.writes, c.listener);
  }
};

}  // namespace

const config::SinkType& devnull_sink_type() {
  static const DevNullSinkType type;
  return type;
}

std::unique_ptr<pipeline::OutputSink> make_devnull_sink(const DevNullWrites& writes,
                                                        pipeline::SinkListener* listener) {
  return std::make_unique<DevNullSink>(writes, listener);
}

}  // namespace streams::sinks
