// A Chain's built-in steps: header_filter, parser/serializer, batch and
// reduce (its group key; the windows are windows.cc's).
#include "common/clock.h"
#include "common/utf8.h"
#include "pipeline/chain_internal.h"

namespace streams::pipeline {

int32_t Chain::run_header_filter(uint32_t step, const streams_record& record) {
  const StepBinding& binding = generation_->steps[step];
  for (size_t i = 0; i < record.header_count; ++i) {
    const streams_header& h = record.headers[i];
    if (text_of(h.name) != binding.header) continue;
    const std::string_view value = text_of(h.value);
    if (!h.value.data || !is_valid_utf8(value)) {
      return report(step, STREAMS_ERR_INVALID_INPUT,
                    "header '" + binding.header + "' is " +
                        (h.value.data ? "not valid UTF-8" : "null") + "; expected text",
                    record);
    }
    return value == binding.header_value ? run(binding.next, record) : STREAMS_OK;
  }
  return STREAMS_OK;  // no such header: dropped
}

int32_t Chain::run_codec(uint32_t step, const streams_record& record) {
  const StepBinding& binding = generation_->steps[step];
  streams_record out = record;
  if (!binding.codec->apply(record.value, *codec_scratch_[step], &out.value, &error_message_)) {
    return report(step, STREAMS_ERR_INVALID_INPUT, error_message_, record);
  }
  return run(binding.next, out);
}

int32_t Chain::run_batch(uint32_t step, const streams_record& record) {
  Batcher& batch = *batchers_[step];
  const bool opens = batch.empty();
  if (!batch.add(record.value, record.timestamp_ms, &error_message_)) {
    return report(step, STREAMS_ERR_INVALID_INPUT, error_message_, record);
  }
  if (opens) {
    batch.open(clock_(), current_input());
    if (holds_) holds_->hold(token_);
  }
  return batch.full() ? flush_batch(step) : STREAMS_OK;
}

int32_t Chain::flush_batch(uint32_t step) {
  Batcher& batch = *batchers_[step];
  const HeldInput first = batch.first();
  metrics::StepMetrics& counts = *step_metrics_[step];
  counts.batch_records.observe(static_cast<double>(batch.count()));
  counts.batch_age_seconds.observe(static_cast<double>(clock_() - batch.opened_ms()) / 1000);
  const int32_t status = run_derived(generation_->steps[step].next, batch.record(), first);
  batch.reset();
  if (holds_) holds_->release(first.token);
  return status;
}

int32_t Chain::run_derived(uint32_t step, const streams_record& record, const HeldInput& held) {
  return with_input(held, [&] { return run(step, record); });
}

int32_t Chain::group_key(uint32_t step, const streams_record& record, std::string* key) {
  const StepBinding& binding = generation_->steps[step];
  CallScope scope(*this, step, &record);
  streams_call& call = scope.call();
  call.capture = key;
  const int32_t status = binding.key_function->process(key_instances_[step].get(), &record, &call);
  if (status == STREAMS_OK && call.emitted == 1 && !call.violation) return STREAMS_OK;
  if (status == STREAMS_OK && !call.violation) {
    return reported(report(step, STREAMS_ERR_CONTRACT,
                           "the group_by function emitted " + std::to_string(call.emitted) +
                               " records; it emits exactly one, whose value is the key",
                           record));
  }
  return reported(finish_plugin(step, status, call, record));
}

int32_t Chain::run_reduce(uint32_t step, const streams_record& record) {
  const StepBinding& binding = generation_->steps[step];
  const std::string* key = nullptr;
  if (binding.key_function) {
    const int32_t status = group_key(step, record, &key_);
    if (status != STREAMS_OK) return status == STREAMS_FATAL ? status : STREAMS_OK;
    key = &key_;
  }
  int64_t event_ms = record.timestamp_ms;
  if (event_ms < 0) {
    event_ms = wall_ms();
  }
  std::string late;  // allocates only for a late record
  const int32_t status =
      reducers_[step]->windows().add(key, record, event_ms, current_input(), clock_(), &late);
  if (status == STREAMS_RECORD_ERROR && !late.empty()) {
    return report(step, STREAMS_ERR_INVALID_INPUT, late, record);
  }
  return status == STREAMS_FATAL ? STREAMS_FATAL : STREAMS_OK;
}

}  // namespace streams::pipeline
