// `streams-host top`: a live view of a running host, read from its admin
// endpoint (GET /metrics and GET /status) every interval: throughput per
// step, consumer lag, errors, in-flight work, generation and last reload.
#pragma once

#include <atomic>

#include "cli/commands.h"

namespace streams::cli {

struct TopArgs {
  AdminArgs admin;
  int interval_ms = 1000;
  int frames = 0;  // 0: until SIGINT/SIGTERM
};

// Exit status 0, or 2 when the host does not answer.
int top_command(const TopArgs& args, const std::atomic<bool>& stop);

}  // namespace streams::cli
