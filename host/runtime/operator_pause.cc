#include "runtime/operator_pause.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/log.h"

namespace streams::kafka {
namespace {

const char* const kResumeHint = "(streams-host resume, or POST /resume)";

}  // namespace

void OperatorPause::restore() {
  struct stat st;
  if (path_.empty() || ::stat(path_.c_str(), &st) != 0) return;
  std::ifstream in(path_, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  int64_t since = wall_ms();
  std::string who = "an operator";
  if (j.is_object() && j.value("since_ms", int64_t{0}) > 0) {
    since = j.value("since_ms", int64_t{0});
    who = j.value("by", who);
  } else {
    log::warn(path_ + " does not say when the pause began; it is taken as begun now");
  }
  apply_(true);
  metrics_.paused_since_ms.set(static_cast<uint64_t>(since));
  log::warn("starting paused: paused by " + who + " at " + iso_utc(since) + " (kept in " + path_ +
            "); nothing is read until resumed " + kResumeHint);
}

std::string OperatorPause::set(bool paused, const std::string& who) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (apply_(paused)) {
    const int64_t now = wall_ms();
    const auto since = static_cast<int64_t>(metrics_.paused_since_ms.value());
    metrics_.paused_since_ms.set(paused ? static_cast<uint64_t>(now) : 0);
    keep(paused ? now : 0, who);
    if (paused) {
      log::info("paused by " + who +
                ": each partition stops at its next record; what is in flight completes and is "
                "committed " +
                kResumeHint);
    } else {
      log::info("resumed by " + who + " after " + std::to_string((now - since) / 1000) +
                " s: each partition reads on from where it stopped");
    }
  }
  const uint64_t since = metrics_.paused_since_ms.value();
  return nlohmann::json{{"paused", since != 0},
                        {"since_ms", since ? nlohmann::json(since) : nlohmann::json(nullptr)}}
      .dump();
}

void OperatorPause::move_to(std::string path) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (path == path_) return;
  if (metrics_.paused_since_ms.value() != 0 && !path_.empty() && !path.empty() &&
      std::rename(path_.c_str(), path.c_str()) != 0 && errno != ENOENT) {
    log::warn("cannot move " + path_ + " to " + path + " (" + std::strerror(errno) +
              "): the pause is not kept if the host restarts");
  }
  path_ = std::move(path);
}

void OperatorPause::keep(int64_t since_ms, const std::string& who) {
  if (path_.empty()) return;
  if (since_ms == 0) {
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
      log::warn("cannot remove " + path_ + " (" + std::strerror(errno) +
                "): a restarted host would start paused");
    }
    return;
  }
  const std::string aside = path_ + ".tmp";
  {
    std::ofstream out(aside, std::ios::binary | std::ios::trunc);
    out << nlohmann::json{{"since_ms", since_ms}, {"by", who}}.dump() << '\n';
    if (out.flush() && std::rename(aside.c_str(), path_.c_str()) == 0) return;
  }
  log::warn("cannot write " + path_ + " (" + std::strerror(errno) +
            "): the pause is not kept if the host restarts (see --state-dir)");
  ::unlink(aside.c_str());
}

}  // namespace streams::kafka
