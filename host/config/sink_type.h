// Sink types as registered components (control plane). A sink type (kafka,
// file, devnull, ...) is one directory under host/sinks/ implementing
// SinkType, listed in one table (host/sinks/registry.cc). The config reader,
// the generation, the reload diff, `validate`, the graph and the runtimes
// ask the type; none of them names one.
//
// Lifetime: types are static and immutable; settings are immutable and
// shared by the specs and generations that hold them.
// Thread: any (everything is const).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.h"
#include "config/step_overrides.h"

namespace YAML {  // yaml-cpp: readers include <yaml-cpp/yaml.h>
class Node;
}

namespace streams::metrics {
class PipelineMetrics;
}
namespace streams::plugin {
class PluginRegistry;
}
namespace streams::pipeline {
class OutputSink;
class SinkListener;
struct Generation;
}  // namespace streams::pipeline

namespace streams::config {

class YamlReader;

// A sink's own settings, read from its step by its type.
class SinkSettings {
 public:
  virtual ~SinkSettings() = default;
  // Where it writes, for `validate`: a topic, a path, "devnull".
  virtual std::string target() const = 0;
  // The same with the type, for the graph: "kafka TOPIC", "file PATH".
  virtual std::string describe() const = 0;
  // Same type and settings.
  virtual bool equals(const SinkSettings& other) const = 0;
};

// What a sink is created with, for a run.
struct SinkContext {
  const pipeline::Generation& generation;
  size_t index;                       // into generation.sinks
  pipeline::SinkListener* listener;   // acknowledging sinks report here; null: a local run
  metrics::PipelineMetrics* metrics;  // client statistics; null: none
  std::string client_id;
};

class SinkType {
 public:
  virtual ~SinkType() = default;
  // The step's `type`.
  virtual const char* name() const = 0;
  // Reads the step's own keys (all but kind, name and type; unknown keys
  // are errors). Null when a problem was reported to `r`.
  virtual std::shared_ptr<const SinkSettings> read(YamlReader& r, const YAML::Node& node,
                                                   const std::string& key) const = 0;
  // What bind() may use besides the generation: the plugin files, and
  // where to report a problem (at `at`, the sink step).
  struct BindContext {
    plugin::PluginRegistry& registry;
    Diagnostics& diag;
    Location at;
  };
  // Applies to *settings (`read`'s) the overrides of the sink step's
  // steps_config entry the type takes (the original's DevNullSink's batch
  // and sleep times); returns those it does not take (warned about).
  virtual StepOverrides deploy(std::shared_ptr<const SinkSettings>* settings,
                               const StepOverrides& entry) const {
    (void)settings;
    return entry;
  }
  // The settings of the sink step `name` as deployed: `read`'s, or ones
  // the deployment changes (a Kafka sink's steps_config topic) or loading
  // adds (a plugin sink's function). Null when a problem was reported.
  virtual std::shared_ptr<const SinkSettings> bind(std::shared_ptr<const SinkSettings> read,
                                                   const pipeline::Generation& g,
                                                   const std::string& name,
                                                   BindContext& ctx) const {
    (void)g;
    (void)name;
    (void)ctx;
    return read;
  }
  // "at-least-once", "idempotent" or "exactly-once": what a replay after a
  // crash does to what the sink stores (validate and graph show it).
  virtual const char* guarantee(const SinkSettings& bound) const {
    (void)bound;
    return "at-least-once";
  }
  // How many batches of a source partition the sink may have out at once
  // (a plugin's sink_batches_out; 1 for in-order writers). validate and
  // the status show it when above 1.
  virtual uint32_t batches_out(const SinkSettings& bound) const {
    (void)bound;
    return 1;
  }
  // Needs brokers: a steps_config entry with bootstrap_servers; a local
  // run writes its outputs as lines instead.
  virtual bool uses_kafka() const { return false; }
  // Checks for `validate` beyond reading (topic names, client settings).
  virtual void check(const pipeline::Generation& g, size_t index, Diagnostics& diag) const {
    (void)g;
    (void)index;
    (void)diag;
  }
  // The max_in_flight_messages a sink of this type has when its deployment
  // sets none; 0: the deployment's default. The sink it creates answers the
  // same (OutputSink::default_max_in_flight_messages).
  virtual uint64_t default_max_in_flight_messages() const { return 0; }
  // Why moving sink `index` from `a` to `b` (same type, equal settings)
  // must restart the consumer; "" when a reload keeps the running sink.
  virtual std::string restart_reason(const pipeline::Generation& a, const pipeline::Generation& b,
                                     size_t index) const {
    (void)a;
    (void)b;
    (void)index;
    return "";
  }
  // The sink for a run. Null with *error on failure.
  virtual std::unique_ptr<pipeline::OutputSink> create(const SinkContext& c,
                                                       std::string* error) const = 0;
};

// The sink types a host knows (host/sinks/registry.cc).
class SinkTypes {
 public:
  virtual ~SinkTypes() = default;
  // Null when there is no such type.
  virtual const SinkType* find(std::string_view name) const = 0;
  // Every type's name, the fallback's first.
  virtual std::vector<std::string> list() const = 0;
  // "kafka, devnull or file", for errors.
  std::string names() const {
    const std::vector<std::string> all = list();
    std::string out;
    for (size_t i = 0; i < all.size(); ++i) {
      out += (i == 0 ? "" : i + 1 == all.size() ? " or " : ", ") + all[i];
    }
    return out;
  }
  // The type a sink step without `type` has.
  virtual const SinkType& fallback() const = 0;
};

}  // namespace streams::config
