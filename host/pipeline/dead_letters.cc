#include "pipeline/dead_letters.h"
#include "common/bytes.h"

#include <chrono>

#include "common/clock.h"
#include "pipeline/error_policy.h"

namespace streams::pipeline {
namespace {}  // namespace

void DeadLetters::add(const char* name, std::string_view value) {
  headers_.push_back({bytes_of(name), bytes_of(value)});
}

bool DeadLetters::on_record_error(const RecordError& e) {
  const streams_record& original = e.input ? *e.input : *e.record;
  const int64_t now_ms = wall_ms();
  // The numbers share one buffer, complete before any view of it is taken.
  numbers_.clear();
  numbers_ += std::to_string(e.origin->partition);
  const size_t partition_end = numbers_.size();
  numbers_ += std::to_string(e.origin->offset);
  const size_t offset_end = numbers_.size();
  numbers_ += std::to_string(now_ms);
  const std::string_view numbers(numbers_);

  headers_.assign(original.headers, original.headers + original.header_count);
  add(dlq_header::kStep, e.step->name);
  if (e.step->function) {
    add(dlq_header::kPlugin, e.step->plugin);
    add(dlq_header::kPluginVersion, e.step->plugin_version);
  }
  add(dlq_header::kKind, error_kind_name(e.kind));
  add(dlq_header::kMessage, e.message);
  add(dlq_header::kTopic, e.origin->topic);
  add(dlq_header::kPartition, numbers.substr(0, partition_end));
  add(dlq_header::kOffset, numbers.substr(partition_end, offset_end - partition_end));
  add(dlq_header::kTime, numbers.substr(offset_end));
  add(dlq_header::kRecord, e.input ? "input" : e.refused_output ? "output" : "derived");
  for (size_t i = 0; i < e.detail_count; ++i) {
    headers_.push_back({bytes_of(e.details[i].name), bytes_of(e.details[i].value)});
  }

  streams_record out = original;
  out.headers = headers_.data();
  out.header_count = headers_.size();
  out.flags = 0;
  switch (queue_.write(out, e.token, e.origin, &reason_)) {
    case WriteResult::ok: {
      ++sent_;
      uint64_t suppressed = 0;
      if (log_.allow(std::chrono::steady_clock::now(), &suppressed)) {
        log_record_error(log::Level::warn,
                         "sent " + origin_text(*e.origin) + " to the dead-letter queue " + name_ +
                             ": " + describe(e) + log::RateLimitedLog::note(suppressed),
                         e);
      }
      return true;
    }
    case WriteResult::rejected: {
      const std::string why = reason_;
      if (send_envelope(out, e.token, why)) return true;  // counted there
      log_record_error(log::Level::error,
                       "the dead-letter queue " + name_ + " refused the failed record " +
                           origin_text(*e.origin) + " even without its key, value and headers: " +
                           reason_ + "; the pipeline stops so that it is not lost",
                       e);
      return false;
    }
    case WriteResult::stop:
      break;
  }
  log_record_error(log::Level::error,
                   "cannot write the failed record " + origin_text(*e.origin) +
                       " to the dead-letter queue " + name_ +
                       "; the pipeline stops so that it is not lost",
                   e);
  return false;
}

bool DeadLetters::send_envelope(const streams_record& refused, uint64_t token,
                                std::string_view reason) {
  std::vector<streams_header> kept;
  size_t own = 0;
  for (size_t i = 0; i < refused.header_count; ++i) {
    const streams_header& h = refused.headers[i];
    const std::string_view name(reinterpret_cast<const char*>(h.name.data), h.name.size);
    if (name == dlq_header::kValueOmitted) return false;  // the envelope already
    if (name.substr(0, dlq_header::kPrefix.size()) == dlq_header::kPrefix) {
      kept.push_back(h);
    } else {
      ++own;
    }
  }
  // Views into `sizes` are taken once it is complete.
  std::string sizes = std::to_string(refused.value.size);
  const size_t value_end = sizes.size();
  sizes += std::to_string(refused.key.size);
  const size_t key_end = sizes.size();
  sizes += std::to_string(own);
  const std::string because(reason);
  const std::string_view s(sizes);
  headers_ = std::move(kept);
  add(dlq_header::kValueOmitted, s.substr(0, value_end));
  add(dlq_header::kKeyOmitted, s.substr(value_end, key_end - value_end));
  add(dlq_header::kHeadersOmitted, s.substr(key_end));
  add(dlq_header::kOmittedBecause, because);
  streams_record envelope{};
  envelope.struct_size = sizeof(envelope);
  envelope.timestamp_ms = refused.timestamp_ms;
  envelope.headers = headers_.data();
  envelope.header_count = headers_.size();
  if (queue_.write(envelope, token, nullptr, &reason_) != WriteResult::ok) return false;
  ++sent_;
  log::warn("the dead-letter queue " + name_ + " refused a failed record (" + because +
            "); sent its error headers without its key, value and " + std::to_string(own) +
            " header(s)");
  return true;
}

}  // namespace streams::pipeline
