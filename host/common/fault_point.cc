#include "common/fault_point.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace streams {
namespace {

// NAME or NAME:N from the environment variable `var`.
struct Armed {
  std::string name;  // empty: none
  long at = 1;
  std::atomic<long> passed{0};
  explicit Armed(const char* var) {
    const char* env = std::getenv(var);
    if (!env || !*env) return;
    name = env;
    const size_t colon = name.find(':');
    if (colon != std::string::npos) {
      at = std::max(1L, std::strtol(name.c_str() + colon + 1, nullptr, 10));
      name.resize(colon);
    }
  }
};

}  // namespace

void fault_point(const char* name) {
  static Armed armed("STREAMS_FAULT_POINT");
  if (armed.name.empty() || armed.name != name) return;
  if (armed.passed.fetch_add(1) + 1 == armed.at) ::kill(::getpid(), SIGKILL);
}

void delay_point(const char* name) {
  static Armed armed("STREAMS_DELAY_POINT");
  if (armed.name.empty() || armed.name != name) return;
  std::this_thread::sleep_for(std::chrono::milliseconds(armed.at));
}

}  // namespace streams
