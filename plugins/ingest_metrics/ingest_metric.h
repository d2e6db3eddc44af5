// IngestMetric JSON (the simple_map_filter example): the checks, the
// filter's test and the map's output, shared by the ingest_metrics plugin
// and the benchmark's inline ceiling (tests/bench), so both do the same
// work per record.
//
// Thread: an IngestMetricReader or MetricWriter is used by one thread at a
// time; views into a parsed message are valid until its next read().
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

namespace streams::ingest_metric {

// What the checks learned about a valid IngestMetric.
struct MetricInfo {
  std::string_view type;  // "c", "d" or "s"; points into the parser's buffer
  bool has_transformed = false;
};

// Parses IngestMetric JSON with a reusable parser and padded buffer: no
// allocation per record once both have grown to the largest message seen.
class IngestMetricReader {
 public:
  // Parses and checks `json`, setting every field of *info. On failure
  // returns false with *why set (a static string).
  bool read(std::string_view json, simdjson::dom::object* out, MetricInfo* info, const char** why);

 private:
  simdjson::dom::parser parser_;
  std::vector<char> buffer_;
};

// The map's output: the metric with "transformed": true, every other field
// unchanged. The returned view is valid until the next call.
class MetricWriter {
 public:
  std::string_view transformed(std::string_view json, simdjson::dom::object& metric,
                               const MetricInfo& info);

 private:
  std::string output_;  // reused across records
};

}  // namespace streams::ingest_metric
