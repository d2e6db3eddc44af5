// The dead-letter queue handler (data plane): a record a step failed on is
// written to the DLQ sink as the original input (key, value, headers and
// timestamp) plus error headers, and the pipeline goes on. A record derived
// from several inputs (a batch, a window) is written as derived, with the
// origin of the first input it holds; an output a sink's broker refused
// after the chain ran is written as that output, with its input's origin.
//
// The DLQ write is tagged with the failed input's token, so the input stays
// uncommitted until the DLQ record is delivered. A record the DLQ refuses
// (larger than its message.max.bytes) is sent again as an envelope without
// its key, value and own headers (dlq_header::kValueOmitted and the others
// say what was left out); only when that is refused too does the pipeline
// stop: a failed record is never dropped.
//
// Thread: the processing thread that runs the chains.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "pipeline/chain.h"

namespace streams::pipeline {

// The error headers of a DLQ record; `dlq replay` strips every header that
// starts with dlq_header::kPrefix.
namespace dlq_header {
inline constexpr std::string_view kPrefix = "streams.error.";
inline constexpr const char* kStep = "streams.error.step";
inline constexpr const char* kPlugin = "streams.error.plugin";
inline constexpr const char* kPluginVersion = "streams.error.plugin_version";
inline constexpr const char* kKind = "streams.error.kind";
inline constexpr const char* kMessage = "streams.error.message";
inline constexpr const char* kTopic = "streams.error.topic";
inline constexpr const char* kPartition = "streams.error.partition";
inline constexpr const char* kOffset = "streams.error.offset";
inline constexpr const char* kTime = "streams.error.time_ms";  // wall clock, ms since the epoch
// "input", "derived" (a batch or window output) or "output" (a sink's)
inline constexpr const char* kRecord = "streams.error.record";
// A record the DLQ refused whole (too large) is sent as its error headers
// alone; these say what was left out: the value's and key's sizes in
// bytes, the number of the record's own headers, and why.
inline constexpr const char* kValueOmitted = "streams.error.value_omitted";
inline constexpr const char* kKeyOmitted = "streams.error.key_omitted";
inline constexpr const char* kHeadersOmitted = "streams.error.headers_omitted";
inline constexpr const char* kOmittedBecause = "streams.error.omitted_because";
}  // namespace dlq_header

class DeadLetters final : public ErrorHandler {
 public:
  // `queue` must outlive this handler; `name` (its topic) is for log lines.
  DeadLetters(OutputSink& queue, std::string name) : queue_(queue), name_(std::move(name)) {}
  bool on_record_error(const RecordError& e) override;
  uint64_t sent() const { return sent_; }

  // Sends `refused` (a DLQ record the queue refused: `reason`) again as its
  // error headers alone, tagged `token`. False if it was the envelope
  // already, or the queue refuses that too (logged).
  bool send_envelope(const streams_record& refused, uint64_t token, std::string_view reason);

 private:
  void add(const char* name, std::string_view value);

  OutputSink& queue_;
  std::string name_;
  std::vector<streams_header> headers_;  // reused: the record's, then the error headers
  std::string numbers_;                  // partition, offset and time, as text
  std::string reason_;
  uint64_t sent_ = 0;
  log::RateLimitedLog log_{10};
};

}  // namespace streams::pipeline
