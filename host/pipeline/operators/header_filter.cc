#include "pipeline/operators/header_filter.h"

#include <tuple>

#include "common/utf8.h"
#include "pipeline/chain_internal.h"

namespace streams::pipeline::operators {
namespace {

class HeaderFilter final : public Operator {
 public:
  bool same_settings(const config::StepSpec& a, const config::StepSpec& b) const override {
    return std::tie(a.header, a.header_value) == std::tie(b.header, b.header_value);
  }
  int32_t run(Chain& chain, uint32_t step, const streams_record& record) const override {
    const config::StepSpec& spec = *chain.binding(step).spec;
    for (size_t i = 0; i < record.header_count; ++i) {
      const streams_header& h = record.headers[i];
      if (text_of(h.name) != spec.header) continue;
      const std::string_view value = text_of(h.value);
      if (!h.value.data || !is_valid_utf8(value)) {
        return chain.report(step, STREAMS_ERR_INVALID_INPUT,
                            "header '" + spec.header + "' is " +
                                (h.value.data ? "not valid UTF-8" : "null") + "; expected text",
                            record);
      }
      return value == spec.header_value ? chain.run(chain.binding(step).next, record) : STREAMS_OK;
    }
    return STREAMS_OK;  // no such header: dropped
  }
};

}  // namespace

const Operator& header_filter() {
  static const HeaderFilter op;
  return op;
}

}  // namespace streams::pipeline::operators
