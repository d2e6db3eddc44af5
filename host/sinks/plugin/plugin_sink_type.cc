// `type: plugin`: read, bind (load the plugin, find its sink function, merge
// the deployment's config), describe and create a plugin sink.
#include "sinks/plugin/plugin_sink_type.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "config/step_readers.h"
#include "config/yaml_reader.h"
#include "pipeline/generation.h"
#include "plugin/plugin_registry.h"
#include "sinks/plugin/plugin_sink.h"

namespace streams::sinks {
namespace {

const char* guarantee_name(uint32_t g) {
  switch (g) {
    case STREAMS_SINK_IDEMPOTENT:
      return "idempotent";
    case STREAMS_SINK_EXACTLY_ONCE:
      return "exactly-once";
    default:
      return "at-least-once";
  }
}

struct PluginSettings final : config::SinkSettings {
  std::string plugin;
  std::string function;     // empty until bound: the plugin's only sink function
  std::string config_json;  // the pipeline file's; bound: merged with the deployment's
  PluginSinkLimits limits;
  // Bound (SinkType::bind): what runs it.
  std::shared_ptr<plugin::PluginLibrary> library;
  const streams_function* fn = nullptr;  // owned by `library`

  std::string target() const override { return plugin + (function.empty() ? "" : "/" + function); }
  std::string describe() const override {
    return "plugin " + target() +
           (fn ? std::string(", ") + guarantee_name(fn->sink_guarantee) : "");
  }
  bool equals(const config::SinkSettings& other) const override {
    auto* o = dynamic_cast<const PluginSettings*>(&other);
    return o && o->plugin == plugin && o->function == function && o->config_json == config_json &&
           o->limits.batch_size == limits.batch_size &&
           o->limits.batch_bytes == limits.batch_bytes &&
           o->limits.batch_time_ms == limits.batch_time_ms &&
           o->limits.retry_backoff_ms == limits.retry_backoff_ms &&
           o->limits.retry_backoff_max_ms == limits.retry_backoff_max_ms && o->fn == fn;
  }
};

// The one sink function of `lib`, or null with *why.
const streams_function* only_sink(const plugin::PluginLibrary& lib, std::string* why) {
  const streams_function* found = nullptr;
  const streams_plugin& d = lib.descriptor();
  for (size_t i = 0; i < d.function_count; ++i) {
    if (d.functions[i]->kind != STREAMS_KIND_SINK) continue;
    if (found) {
      *why =
          "exports several sink functions (" + lib.function_names() + "): name one with function:";
      return nullptr;
    }
    found = d.functions[i];
  }
  if (!found) *why = "exports no sink function (it has: " + lib.function_names() + ")";
  return found;
}

// The pipeline file's config with the deployment's keys over it; empty
// with *why when the deployment's is not an object.
std::string merged_config(const std::string& pipeline, const std::string& deployment) {
  if (deployment.empty()) return pipeline.empty() ? "{}" : pipeline;
  nlohmann::json base = nlohmann::json::parse(pipeline.empty() ? "{}" : pipeline);
  base.merge_patch(nlohmann::json::parse(deployment));
  return base.dump();
}

// The steps from `from` to `target` (both included) into *path; false
// when `target` is not below `from`.
bool path_to(const pipeline::Generation& g, uint32_t from, uint32_t target,
             std::vector<uint32_t>* path) {
  for (uint32_t at = from; at != pipeline::StepBinding::kNone; at = g.steps[at].next) {
    path->push_back(at);
    if (at == target) return true;
    for (const pipeline::BranchTarget& b : g.steps[at].branches) {
      if (path_to(g, b.step, target, path)) return true;
    }
  }
  return false;
}

class PluginSinkType final : public config::SinkType {
 public:
  const char* name() const override { return "plugin"; }

  std::shared_ptr<const config::SinkSettings> read(config::YamlReader& r, const YAML::Node& node,
                                                   const std::string& key) const override {
    r.check_keys(node, key,
                 {"kind", "name", "type", "plugin", "function", "config", "batch_size",
                  "batch_bytes", "batch_time_ms", "retry_backoff_ms", "retry_backoff_max_ms"});
    auto s = std::make_shared<PluginSettings>();
    auto plugin = r.string(node, key, "plugin", true);
    if (!plugin) return nullptr;
    s->plugin = *plugin;
    if (auto fn = r.string(node, key, "function", false)) s->function = *fn;
    if (YAML::Node config = node["config"]; config && !config.IsNull()) {
      if (r.expect_map(config, config::join_key(key, "config"))) {
        s->config_json = r.json(config, config::join_key(key, "config"));
      }
    }
    if (auto n = r.integer(node, key, "batch_size", 1, 1000000)) {
      s->limits.batch_size = static_cast<uint32_t>(*n);
    }
    if (auto n = r.integer(node, key, "batch_bytes", 1, 1LL << 32)) {
      s->limits.batch_bytes = static_cast<uint64_t>(*n);
    }
    if (auto n = r.integer(node, key, "batch_time_ms", 0, config::kMaxMs)) {
      s->limits.batch_time_ms = *n;
    }
    if (auto n = r.integer(node, key, "retry_backoff_ms", 1, config::kMaxMs)) {
      s->limits.retry_backoff_ms = *n;
    }
    if (auto n = r.integer(node, key, "retry_backoff_max_ms", 1, config::kMaxMs)) {
      s->limits.retry_backoff_max_ms = *n;
    }
    if (s->limits.retry_backoff_max_ms < s->limits.retry_backoff_ms) {
      r.error(node, config::join_key(key, "retry_backoff_max_ms"),
              "expected at least retry_backoff_ms (" + std::to_string(s->limits.retry_backoff_ms) +
                  ")");
    }
    return s;
  }

  // A steps_config entry's batch_size and batch_time_ms (or
  // batch_timedelta), as the original's DevNullSink takes them, and its
  // `bucket` for a sink whose config names one (the original's GCSSink).
  config::StepOverrides deploy(std::shared_ptr<const config::SinkSettings>* settings,
                               const config::StepOverrides& entry) const override {
    config::StepOverrides left = entry;
    auto s = std::make_shared<PluginSettings>(static_cast<const PluginSettings&>(**settings));
    if (entry.batch_size) {
      s->limits.batch_size = static_cast<uint32_t>(std::min<int64_t>(*entry.batch_size, 1000000));
      left.batch_size.reset();
    }
    if (entry.batch_wait_ms) {
      s->limits.batch_time_ms = *entry.batch_wait_ms;
      left.batch_wait_ms.reset();
    }
    if (entry.bucket && !s->config_json.empty()) {
      nlohmann::json config = nlohmann::json::parse(s->config_json);
      if (config.is_object() && config.contains("bucket")) {
        config["bucket"] = *entry.bucket;
        s->config_json = config.dump();
        left.bucket.reset();
      }
    }
    *settings = std::move(s);
    return left;
  }

  std::shared_ptr<const config::SinkSettings> bind(std::shared_ptr<const config::SinkSettings> read,
                                                   const pipeline::Generation& g,
                                                   const std::string& name,
                                                   BindContext& ctx) const override {
    auto s = std::make_shared<PluginSettings>(static_cast<const PluginSettings&>(*read));
    config::Location at = ctx.at;
    at.key += ".plugin";
    std::string why;
    s->library = ctx.registry.get(s->plugin, &why);
    if (!s->library) {
      ctx.diag.error(at, why);
      return nullptr;
    }
    const std::string which = "plugin '" + s->plugin + "' (" + s->library->path() + ")";
    if (s->function.empty()) {
      s->fn = only_sink(*s->library, &why);
      if (!s->fn) {
        ctx.diag.error(at, "sink '" + name + "': " + which + " " + why);
        return nullptr;
      }
      s->function = s->fn->name;
    } else {
      at.key = ctx.at.key + ".function";
      s->fn = s->library->find(s->function);
      if (!s->fn || s->fn->kind != STREAMS_KIND_SINK) {
        ctx.diag.error(
            at, "sink '" + name + "': " + which + " " +
                    (s->fn ? "function '" + s->function + "' is not a sink function; it exports: " +
                                 s->library->function_names()
                           : s->library->missing_function(s->function)));
        return nullptr;
      }
    }
    const auto& steps = g.deployment.segments[g.segment].steps_config;
    auto it = steps.find(name);
    s->config_json = merged_config(s->config_json, it == steps.end() ? "" : it->second.config_json);
    // The config is proved now, as a transform's is: an instance is made
    // and destroyed (sinks connect on their first batch, not here).
    if (std::string why = PluginSink::probe(*s->fn, s->config_json); !why.empty()) {
      at.key = ctx.at.key + ".config";
      ctx.diag.error(at, "sink '" + name + "': " + which + " function '" + s->function +
                             "' failed to initialise: " + why);
      return nullptr;
    }
    return s;
  }

  // An exactly-once sink keeps its position by source offset: outputs a
  // batch or reduce step emits carry the offset of an input it held, not of
  // the one being read, so a replay may skip or repeat them.
  void check(const pipeline::Generation& g, size_t index,
             config::Diagnostics& diag) const override {
    const pipeline::SinkBinding& sink = g.sinks[index];
    const auto& s = static_cast<const PluginSettings&>(*sink.settings);
    if (!s.fn || s.fn->sink_guarantee != STREAMS_SINK_EXACTLY_ONCE || g.steps.empty()) return;
    std::vector<uint32_t> path;
    path_to(g, 0, sink.step, &path);
    for (uint32_t step : path) {
      const pipeline::StepBinding& b = g.steps[step];
      if (b.op->order_free()) continue;
      diag.warn(g.steps[sink.step].spec->location,
                "sink '" + sink.name + "' is exactly-once by source offsets, but follows '" +
                    b.name + "' (a " + b.op->name() +
                    "), whose outputs carry the offset of an input it held: after a crash a "
                    "replay may skip or repeat them here; an idempotent sink (an upsert on a "
                    "key) is exact after such a step");
      return;
    }
  }

  const char* guarantee(const config::SinkSettings& bound) const override {
    const auto& s = static_cast<const PluginSettings&>(bound);
    return guarantee_name(s.fn ? s.fn->sink_guarantee : 0);
  }

  uint32_t batches_out(const config::SinkSettings& bound) const override {
    const auto& s = static_cast<const PluginSettings&>(bound);
    return s.fn && STREAMS_HAS_FIELD(s.fn, streams_function, sink_batches_out) &&
                   s.fn->sink_batches_out > 1
               ? s.fn->sink_batches_out
               : 1;
  }

  uint64_t default_max_in_flight_messages() const override {
    return PluginSink::kDefaultMaxInFlight;
  }
  std::string restart_reason(const pipeline::Generation&, const pipeline::Generation&,
                             size_t) const override {
    return "";  // equal settings: the same function of the same library
  }

  std::unique_ptr<pipeline::OutputSink> create(const config::SinkContext& c,
                                               std::string* error) const override {
    const pipeline::SinkBinding& b = c.generation.sinks[c.index];
    const auto& s = static_cast<const PluginSettings&>(*b.settings);
    if (!c.listener) {
      *error = "sink '" + b.name + "' (" + s.describe() +
               ") needs a runtime that takes acknowledgements";
      return nullptr;
    }
    metrics::StepMetrics* m = c.metrics ? &c.metrics->step(b.name, "sink", {}) : nullptr;
    return PluginSink::create(*s.fn, b.name, s.describe(), s.config_json, s.limits, *c.listener, m,
                              error);
  }
};

}  // namespace

const config::SinkType& plugin_sink_type() {
  static const PluginSinkType type;
  return type;
}

}  // namespace streams::sinks
