// The simple_map_filter example: IngestMetric JSON messages.
//   is_counter (filter): keeps messages whose "type" is "c".
//   transform  (map):    adds "transformed": true, every other field unchanged.
// A message that is not a valid IngestMetric is a per-record error
// (invalid_input), never a crash.
#include <streams/plugin.hpp>

#include "ingest_metric.h"

namespace {

using streams::ingest_metric::IngestMetricReader;
using streams::ingest_metric::MetricInfo;
using streams::ingest_metric::MetricWriter;

class IsCounter {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    simdjson::dom::object metric;
    MetricInfo info;
    const char* why = nullptr;
    if (!reader_.read(in.value(), &metric, &info, &why)) {
      return out.fail(streams::ErrorKind::invalid_input, why);
    }
    return info.type == "c" ? streams::Status::keep : streams::Status::drop;
  }

 private:
  IngestMetricReader reader_;
};

class Transform {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    simdjson::dom::object metric;
    MetricInfo info;
    const char* why = nullptr;
    const std::string_view json = in.value();
    if (!reader_.read(json, &metric, &info, &why)) {
      return out.fail(streams::ErrorKind::invalid_input, why);
    }
    return out.emit_value(writer_.transformed(json, metric, info));
  }

 private:
  IngestMetricReader reader_;
  MetricWriter writer_;
};

}  // namespace

STREAMS_PLUGIN("ingest_metrics", "1.0.0", streams::filter<IsCounter>("is_counter"),
               streams::map<Transform>("transform"))
