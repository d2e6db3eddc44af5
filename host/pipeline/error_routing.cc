#include "pipeline/error_routing.h"

namespace streams::pipeline {

ErrorRouting::ErrorRouting(const Generation& g, OutputSink* dlq, config::ErrorPolicy policy) {
  const config::StepDeployment& source = g.source_settings();
  ErrorHandler* handler = nullptr;
  if (dlq) {
    dead_letters_ = std::make_unique<DeadLetters>(*dlq, source.dlq.topic);
    handler = dead_letters_.get();
  } else {
    no_dlq_ = std::make_unique<NoDlqPolicy>(policy);
    handler = no_dlq_.get();
  }
  errors_ = std::make_unique<LimitedErrors>(*handler, source.error_limits);
}

bool ErrorRouting::on_refused(const Generation& g, int sink_index, const streams_origin* origin,
                              uint64_t token, const streams_record& output, const char* reason,
                              metrics::PipelineMetrics& metrics, std::string* why) {
  if (sink_index < 0) {
    if (origin && dead_letters_ && dead_letters_->send_envelope(output, token, reason)) return true;
    *why = std::string(
               "the dead-letter queue refused a record even without its key, value and "
               "headers: ") +
           reason + "; the pipeline stops so that it is not lost";
    return false;
  }
  if (!origin) {
    *why = std::string("an output of a revoked partition was refused: ") + reason;
    return false;
  }
  const StepBinding& step = g.steps[g.sinks[sink_index].step];
  RecordError e{&step, kErrSinkRejected, reason, origin, token, nullptr, &output};
  e.refused_output = true;
  if (metrics::StepMetrics* counts = metrics.find(step.name)) {
    counts->errors[metrics::error_kind_index(kErrSinkRejected)].add();
  }
  if (errors_->on_record_error(e)) return true;
  *why = "stopped at " + origin_text(*origin) + ": an output was refused: " + reason;
  return false;
}

std::string ErrorRouting::summary() const {
  return dead_letters_ ? ", sent to the dead-letter queue " + std::to_string(dead_letters_->sent())
                       : ", skipped " + std::to_string(no_dlq_->skipped());
}

}  // namespace streams::pipeline
