#include "runtime/runtime_supervisor.h"

#include "common/clock.h"
#include "common/log.h"

namespace streams::kafka {
namespace {

std::future<pipeline::SwapOutcome> refused(const std::string& why) {
  std::promise<pipeline::SwapOutcome> p;
  pipeline::SwapOutcome outcome;
  outcome.error = why;
  p.set_value(std::move(outcome));
  return p.get_future();
}

}  // namespace

bool RuntimeSupervisor::start(std::shared_ptr<const pipeline::Generation> g, std::string* error) {
  std::lock_guard<std::mutex> lock(mutex_);
  runtime_ = make(g, error);
  current_ = std::move(g);
  return runtime_ != nullptr;
}

std::future<pipeline::SwapOutcome> RuntimeSupervisor::swap(
    std::shared_ptr<const pipeline::Generation> next) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (next_) return refused("the host is restarting its consumer");
  return runtime_->swap(std::move(next));
}

bool RuntimeSupervisor::cancel(const std::string& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!next_) return runtime_->cancel_swap(why);
  if (!restart_cancelled_) {
    pipeline::SwapOutcome refused;
    refused.error = why;
    restarted_.set_value(std::move(refused));
    restart_cancelled_ = true;
  }
  return true;
}

void RuntimeSupervisor::reopen_files() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (runtime_) runtime_->reopen_files();
}

std::unique_ptr<KafkaRuntime> RuntimeSupervisor::make(
    const std::shared_ptr<const pipeline::Generation>& g, std::string* error) {
  std::unique_ptr<KafkaRuntime> runtime = create_kafka_runtime(g, options_(*g), error);
  if (runtime && (paused_ || hold_next_)) runtime->set_paused(true);
  return runtime;
}

bool RuntimeSupervisor::set_paused(bool paused) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (paused_ == paused) return false;
  paused_ = paused;
  if (runtime_ && !runtime_held_) runtime_->set_paused(paused);
  return true;
}

void RuntimeSupervisor::hold_next() {
  std::lock_guard<std::mutex> lock(mutex_);
  hold_next_ = true;
}

void RuntimeSupervisor::release() {
  std::lock_guard<std::mutex> lock(mutex_);
  hold_next_ = false;
  if (!runtime_held_) return;
  runtime_held_ = false;
  if (runtime_ && !paused_) runtime_->set_paused(false);
}

void RuntimeSupervisor::query_state(pipeline::StateQuery q, pipeline::StateReply reply) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (runtime_) return runtime_->query_state(std::move(q), std::move(reply));
  lock.unlock();
  reply({503, R"({"error": "the consumer is restarting"})"});
}

std::future<pipeline::SwapOutcome> RuntimeSupervisor::restart(
    std::shared_ptr<const pipeline::Generation> next) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (next_) return refused("the host is restarting its consumer");
  next_ = std::move(next);
  restarted_ = std::promise<pipeline::SwapOutcome>();
  runtime_->request_stop();
  return restarted_.get_future();
}

int RuntimeSupervisor::run(const std::atomic<bool>& stop) {
  for (;;) {
    const int status = runtime_->run(stop);
    std::lock_guard<std::mutex> lock(mutex_);
    if (!next_) return status;
    pipeline::SwapOutcome outcome;
    bool running = false;
    if (restart_cancelled_) next_ = current_;  // the refused restart: the old generation again
    if (stop.load()) {
      outcome.error = "the host is stopping";
    } else if (status != 0) {
      outcome.error = "the consumer did not stop cleanly; the host stops";
    } else {
      running = replace(&outcome);
    }
    next_.reset();
    if (!restart_cancelled_) restarted_.set_value(std::move(outcome));
    restart_cancelled_ = false;
    if (!running) return status != 0 ? status : stop.load() ? 0 : 1;
  }
}

bool RuntimeSupervisor::replace(pipeline::SwapOutcome* outcome) {
  runtime_.reset();            // its consumer has left the group
  runtime_held_ = hold_next_;  // whichever runtime is made below
  std::string error;
  runtime_ = make(next_, &error);
  if (runtime_) {
    current_ = next_;
    outcome->ok = true;
    outcome->took_effect_ms = wall_ms();
    return true;
  }
  outcome->error = "the new consumer cannot start: " + error;
  log::error(outcome->error + "; starting again with the running generation");
  runtime_ = make(current_, &error);
  if (!runtime_) log::error("cannot start again: " + error);
  return runtime_ != nullptr;
}

}  // namespace streams::kafka
