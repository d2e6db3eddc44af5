#include "common/error_report.h"

#include <atomic>

namespace streams::report {
namespace {

std::atomic<Reporter*> g_reporter{nullptr};

}  // namespace

void set_reporter(Reporter* r) { g_reporter.store(r, std::memory_order_release); }

void capture(const Event& event) {
  if (Reporter* r = g_reporter.load(std::memory_order_acquire)) r->capture(event);
}

}  // namespace streams::report
