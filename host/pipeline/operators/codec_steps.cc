#include "pipeline/operators/codec_steps.h"

#include <tuple>

#include "pipeline/chain_internal.h"
#include "plugin/plugin_registry.h"

namespace streams::pipeline::operators {
namespace {

struct CodecState final : OperatorState {
  CodecScratch scratch;
};

class CodecOperator : public Operator {
 public:
  bool same_settings(const config::StepSpec& a, const config::StepSpec& b) const override {
    return std::tie(a.format, a.schema_path) == std::tie(b.format, b.schema_path);
  }
  std::unique_ptr<OperatorState> make_state(Chain&, uint32_t) const override {
    return std::make_unique<CodecState>();
  }
  int32_t run(Chain& chain, uint32_t step, const streams_record& record) const override {
    const StepBinding& binding = chain.binding(step);
    CodecScratch& scratch = static_cast<CodecState*>(chain.state(step))->scratch;
    streams_record out = record;
    if (!binding.codec->apply(record.value, scratch, &out.value, &chain.error_text())) {
      return chain.report(step, STREAMS_ERR_INVALID_INPUT, chain.error_text(), record);
    }
    return chain.run(binding.next, out);
  }

 protected:
  void bind_codec(const config::StepSpec& spec, JsonErrorText json_error, BindContext& ctx,
                  StepBinding* out) const {
    std::string error;
    out->codec = CodecStep::create(spec, &error, std::move(json_error));
    if (!out->codec) ctx.diag.error(spec.schema_location, "step '" + spec.name + "': " + error);
  }
};

class Parser final : public CodecOperator {
 public:
  // A Python pipeline file's parsers say what Python's json module would of
  // text that is not JSON: the words its author reads in the DLQ.
  void bind(const config::StepSpec& spec, BindContext& ctx, StepBinding* out) const override {
    JsonErrorText json_error;
    if (!ctx.generation.pipeline.python_code.empty()) {
      json_error = ctx.registry.python().json_error();
    }
    bind_codec(spec, std::move(json_error), ctx, out);
  }
  Payload payload_after(const config::StepSpec&, Payload) const override { return Payload::json; }
};

class Serializer final : public CodecOperator {
 public:
  void bind(const config::StepSpec& spec, BindContext& ctx, StepBinding* out) const override {
    bind_codec(spec, nullptr, ctx, out);
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
