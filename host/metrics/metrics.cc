#include "metrics/metrics.h"

#include <streams/plugin_abi.h>

namespace streams::metrics {

StepMetrics& PipelineMetrics::step(const std::string& name, const std::string& kind,
                                   std::vector<std::string> next, const std::string& plugin,
                                   const std::string& version) {
  std::lock_guard<std::mutex> lock(mutex_);
  StepMetrics* found = nullptr;
  for (const auto& s : steps_) {
    if (s->name == name) found = s.get();
  }
  if (!found) {
    steps_.push_back(std::make_unique<StepMetrics>());
    found = steps_.back().get();
    found->name = name;
  }
  found->kind = kind;
  found->next = std::move(next);
  found->plugin = plugin;
  found->version = version;
  return *found;
}

void PipelineMetrics::set_client_stats(const std::string& client, const char* json, size_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  client_stats_[client].assign(json, size);
}

std::vector<std::pair<std::string, std::string>> PipelineMetrics::client_stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {client_stats_.begin(), client_stats_.end()};
}

StepMetrics* PipelineMetrics::find(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& s : steps_) {
    if (s->name == name) return s.get();
  }
  return nullptr;
}

size_t error_kind_index(int32_t kind) {
  switch (kind) {
    case STREAMS_ERR_INVALID_INPUT:
      return 0;
    case STREAMS_ERR_PROCESSING:
      return 1;
    case STREAMS_ERR_EXCEPTION:
      return 2;
    case STREAMS_ERR_CONTRACT:
      return 3;
    case 100:  // pipeline::kErrSinkRejected
      return 4;
    case 101:  // pipeline::kErrCrash
      return 5;
  }
  return 6;
}

}  // namespace streams::metrics
