#include "pipeline/operators/codec_steps.h"

#include <tuple>

#include "config/step_readers.h"
#include "pipeline/chain_internal.h"
#include "plugin/plugin_library.h"
#include "plugin/plugin_registry.h"

namespace streams::pipeline::operators {
namespace {

const CodecSettings& settings_of(const config::StepSpec& spec) {
  return static_cast<const CodecSettings&>(*spec.settings);
}

struct CodecState final : OperatorState {
  CodecScratch scratch;
};

class CodecOperator : public Operator {
 public:
  std::string describe(const config::StepSpec& step) const override {
    return std::string(" ") + config::to_string(settings_of(step).format);
  }
  bool same_settings(const config::StepSpec& a, const config::StepSpec& b) const override {
    const CodecSettings &x = settings_of(a), &y = settings_of(b);
    return std::tie(x.format, x.schema_path, x.schema_hash) ==
           std::tie(y.format, y.schema_path, y.schema_hash);
  }
  std::unique_ptr<OperatorState> make_state(Chain&, uint32_t) const override {
    return std::make_unique<CodecState>();
  }
  Status run(Chain& chain, uint32_t step, const streams_record& record) const override {
    const StepBinding& binding = chain.binding(step);
    CodecScratch& scratch = static_cast<CodecState*>(chain.state(step))->scratch;
    streams_record out = record;
    if (!binding.codec->apply(record.value, scratch, &out.value, &chain.error_text())) {
      return chain.report(step, STREAMS_ERR_INVALID_INPUT, chain.error_text(), record);
    }
    return chain.run(binding.next, out);
  }
};

class Parser final : public CodecOperator {
 public:
  const char* name() const override { return "parser"; }
  void read(config::YamlReader& r, const YAML::Node& node, const std::string& key,
            const config::StepReadContext& ctx, config::StepSpec* step) const override {
    r.check_keys(node, key, {"kind", "name", "format", "schema"});
    auto settings = std::make_shared<CodecSettings>();
    if (auto schema = r.string(node, key, "schema", false)) {
      settings->schema_path = config::resolve_path(ctx.dir, *schema);
      settings->schema_hash = plugin::content_hash(settings->schema_path);  // 0: bind says why
      settings->schema_location = r.at(node["schema"], config::join_key(key, "schema"));
    }
    config::read_format(r, node, key, &settings->format);
    step->settings = std::move(settings);
  }
  // A Python pipeline file's parsers say what Python's json module would of
  // text that is not JSON: the words its author reads in the DLQ.
  void bind(const config::StepSpec& spec, BindContext& ctx, StepBinding* out) const override {
    JsonErrorText json_error;
    if (!ctx.generation.pipeline.python_code.empty()) {
      json_error = ctx.registry.python().json_error();
    }
    const CodecSettings& s = settings_of(spec);
    std::string error;
    out->codec = CodecStep::parser(s.format, s.schema_path, &error, std::move(json_error));
    if (!out->codec) ctx.diag.error(s.schema_location, "step '" + spec.name + "': " + error);
  }
  Payload payload_after(const config::StepSpec&, Payload) const override { return Payload::json; }
  std::vector<std::string> files(const config::StepSpec& spec) const override {
    const std::string& schema = settings_of(spec).schema_path;
    return schema.empty() ? std::vector<std::string>{} : std::vector<std::string>{schema};
  }
};

class Serializer final : public CodecOperator {
 public:
  const char* name() const override { return "serializer"; }
  void read(config::YamlReader& r, const YAML::Node& node, const std::string& key,
            const config::StepReadContext&, config::StepSpec* step) const override {
    r.check_keys(node, key, {"kind", "name", "format"});
    auto settings = std::make_shared<CodecSettings>();
    config::read_format(r, node, key, &settings->format);
    step->settings = std::move(settings);
  }
  void bind(const config::StepSpec& spec, BindContext&, StepBinding* out) const override {
    out->codec = CodecStep::serializer(settings_of(spec).format);
  }
  Payload payload_after(const config::StepSpec&, Payload) const override { return Payload::bytes; }
};

}  // namespace

const Operator& parser() {
  static const Parser op;
  return op;
}

const Operator& serializer() {
  static const Serializer op;
  return op;
}

}  // namespace streams::pipeline::operators
