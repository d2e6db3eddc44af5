// Runs the host's KafkaRuntimes one after another (data plane's owner): the
// first with the start-up generation, then a new one each time a reload
// changes the source or the sinks, after the old one drained, committed and
// left its group. Reloads that change neither are passed to the running
// runtime, which keeps its consumer.
//
// Thread: run() on the processing thread; swap() and restart() from any
// thread (the reload controller's).
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "pipeline/generation_swap.h"
#include "runtime/kafka_runtime.h"

namespace streams::kafka {

class RuntimeSupervisor final : public pipeline::GenerationSwapper {
 public:
  // The options for a runtime of a generation (its error policy may differ).
  using OptionsFor = std::function<RuntimeOptions(const pipeline::Generation&)>;

  explicit RuntimeSupervisor(OptionsFor options) : options_(std::move(options)) {}
  // Creates the first runtime. False with *error.
  bool start(std::shared_ptr<const pipeline::Generation> g, std::string* error);
  // Runs until `stop` or a failure; the exit status of the last runtime.
  int run(const std::atomic<bool>& stop);

  std::future<pipeline::SwapOutcome> swap(
      std::shared_ptr<const pipeline::Generation> next) override;
  std::future<pipeline::SwapOutcome> restart(
      std::shared_ptr<const pipeline::Generation> next) override;
  bool cancel(const std::string& why) override;
  // Thread-safe; see KafkaRuntime::reopen_files.
  void reopen_files();
  // Thread-safe, also before start(): the operator's pause (see
  // KafkaRuntime::set_paused), kept for the runtimes a restart makes. False
  // when it was so already.
  bool set_paused(bool paused);
  // Thread-safe: the runtimes a restart makes from now on start paused and
  // stay so, whatever the operator's pause, until release(): for what must
  // be known before a new consumer reads (its group's segment pause).
  void hold_next();
  // Ends hold_next(): the runtime runs as the operator's pause says.
  void release();
  // Thread-safe; see KafkaRuntime::query_state.
  void query_state(pipeline::StateQuery q, pipeline::StateReply reply);

 private:
  // Replaces the stopped runtime by one of the pending generation (or, if
  // that cannot start, of the old one). False: no runtime could start.
  bool replace(pipeline::SwapOutcome* outcome);
  // A runtime of `g`, paused when the operator's pause is on (mutex_ held).
  std::unique_ptr<KafkaRuntime> make(const std::shared_ptr<const pipeline::Generation>& g,
                                     std::string* error);

  OptionsFor options_;
  std::mutex mutex_;  // guards runtime_ (the pointer), next_, restarted_
  std::unique_ptr<KafkaRuntime> runtime_;
  std::shared_ptr<const pipeline::Generation> current_, next_;
  std::promise<pipeline::SwapOutcome> restarted_;
  // The pending restart was given up: its future is answered, and the
  // stopped runtime is replaced by one of the running generation.
  bool restart_cancelled_ = false;
  bool paused_ = false;        // set_paused()
  bool hold_next_ = false;     // hold_next()
  bool runtime_held_ = false;  // runtime_ was made under hold_next()
};

}  // namespace streams::kafka
