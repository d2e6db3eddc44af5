#include "pipeline/operators/header_filter.h"

#include <tuple>

#include "common/utf8.h"
#include "config/yaml_reader.h"
#include "pipeline/chain_internal.h"

namespace streams::pipeline::operators {
namespace {

const HeaderFilterSettings& settings_of(const config::StepSpec& spec) {
  return static_cast<const HeaderFilterSettings&>(*spec.settings);
}

class HeaderFilter final : public Operator {
 public:
  const char* name() const override { return "header_filter"; }
  void read(config::YamlReader& r, const YAML::Node& node, const std::string& key,
            const config::StepReadContext&, config::StepSpec* step) const override {
    r.check_keys(node, key, {"kind", "name", "header", "value"});
    auto settings = std::make_shared<HeaderFilterSettings>();
    if (auto header = r.string(node, key, "header", true)) settings->header = *header;
    if (auto value = r.string(node, key, "value", true)) settings->value = *value;
    step->settings = std::move(settings);
  }
  std::string describe(const config::StepSpec& step) const override {
    const HeaderFilterSettings& s = settings_of(step);
    return " " + s.header + "=" + s.value;
  }
  bool same_settings(const config::StepSpec& a, const config::StepSpec& b) const override {
    const HeaderFilterSettings &x = settings_of(a), &y = settings_of(b);
    return std::tie(x.header, x.value) == std::tie(y.header, y.value);
  }
  Status run(Chain& chain, uint32_t step, const streams_record& record) const override {
    const StepBinding& binding = chain.binding(step);
    const HeaderFilterSettings& s = settings_of(*binding.spec);
    for (size_t i = 0; i < record.header_count; ++i) {
      const streams_header& h = record.headers[i];
      if (text_of(h.name) != s.header) continue;
      const std::string_view value = text_of(h.value);
      if (!h.value.data || !is_valid_utf8(value)) {
        return chain.report(step, STREAMS_ERR_INVALID_INPUT,
                            "header '" + s.header + "' is " +
                                (h.value.data ? "not valid UTF-8" : "null") + "; expected text",
                            record);
      }
      return value == s.value ? chain.run(binding.next, record) : Status::ok;
    }
    return Status::ok;  // no such header: dropped
  }
};

}  // namespace

const Operator& header_filter() {
  static const HeaderFilter op;
  return op;
}

}  // namespace streams::pipeline::operators
