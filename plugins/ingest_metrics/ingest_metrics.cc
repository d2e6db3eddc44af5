// The simple_map_filter example: IngestMetric JSON messages.
//   is_counter (filter): keeps messages whose "type" is "c".
//   transform  (map):    adds "transformed": true, every other field unchanged.
// A message that is not a valid IngestMetric is a per-record error
// (invalid_input), never a crash. is_counter shares its parse (ABI 1.8), so
// transform right after it does not parse the same message again.
#include <streams/plugin.hpp>

#include "ingest_metric.h"

namespace {

using streams::ingest_metric::IngestMetricReader;
using streams::ingest_metric::MetricInfo;
using streams::ingest_metric::MetricWriter;

// A parsed message: views into the parser of the step that parsed it.
struct Parsed {
  simdjson::dom::object metric;
  MetricInfo info;
};
const char kParsedTag = 0;  // share tag: a Parsed of the input

class IsCounter {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    const char* why = nullptr;
    if (!reader_.read(in.value(), &parsed_.metric, &parsed_.info, &why)) {
      return out.fail(streams::ErrorKind::invalid_input, why);
    }
    if (parsed_.info.type != "c") return streams::Status::drop;
    out.share(&kParsedTag, &parsed_);  // valid until this instance's next call
    return streams::Status::keep;
  }

 private:
  IngestMetricReader reader_;
  Parsed parsed_;
};

class Transform {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    const std::string_view json = in.value();
    Parsed* parsed = out.shared_as<Parsed>(&kParsedTag);
    if (!parsed) {
      const char* why = nullptr;
      if (!reader_.read(json, &own_.metric, &own_.info, &why)) {
        return out.fail(streams::ErrorKind::invalid_input, why);
      }
      parsed = &own_;
    }
    return out.emit_value(writer_.transformed(json, parsed->metric, parsed->info));
  }

 private:
  IngestMetricReader reader_;
  Parsed own_;  // parsed here when the step before shared nothing
  MetricWriter writer_;
};

}  // namespace

STREAMS_PLUGIN("ingest_metrics", "1.0.0", streams::filter<IsCounter>("is_counter"),
               streams::map<Transform>("transform"))
