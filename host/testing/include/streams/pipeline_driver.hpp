// Test driver for a whole pipeline: runs a pipeline file in-process on the
// host's own engine, with its plugins, and collects what each sink was given
// and every record error. For tests; link the `streams_pipeline_driver`
// library (built with the host), which brings the engine in.
//
//   streams::test_driver::PipelineDriver p("pipeline.yaml", "build/plugins");
//   p.send(streams::test_driver::value("hello"));
//   p.finish();                      // end of input: open batches/windows emit
//   assert(p.values("out") == std::vector<std::string>{"HELLO"});
//
// Inputs get offsets 0, 1, ... in the order sent. Sinks take outputs at once
// (as if delivered), so committable() shows only what open batches and
// windows hold back. Time for batch max_wait_ms and window idle_flush_ms is
// the steady clock moved on by advance_time().
//
// Thread: one driver per thread.
#ifndef STREAMS_PIPELINE_DRIVER_HPP
#define STREAMS_PIPELINE_DRIVER_HPP

#include <streams/test_driver.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace streams::test_driver {

// An input that failed in a step, as the error policy saw it.
struct RecordError {
  std::string step;
  int32_t kind = 0;  // STREAMS_ERR_*
  std::string message;
  int64_t offset = 0;  // of the input
};

class PipelineDriver {
 public:
  // Loads `pipeline_path` with plugins from `plugins_dir`. Throws
  // std::runtime_error with every diagnostic when the pipeline is invalid.
  PipelineDriver(const std::string& pipeline_path, const std::string& plugins_dir);
  ~PipelineDriver();
  PipelineDriver(const PipelineDriver&) = delete;
  PipelineDriver& operator=(const PipelineDriver&) = delete;

  // Feeds one input, through the same partition processor as the runtimes.
  // False once the pipeline has stopped (a fatal status), or, with the input
  // not taken, while open batches and windows hold as many inputs (or bytes)
  // as the source's max_in_flight bounds allow (100000 inputs, 64 MiB).
  bool send(const Input& input);
  // Moves the driver's clock on and runs time limits (batch max_wait_ms,
  // window idle_flush_ms).
  bool advance_time(int64_t ms);
  // End of input: every open batch and window emits.
  bool finish();
  // A host's commit at committable(): the state changes of the inputs
  // before it become durable (state checkpoint). False once stopped.
  bool commit();
  // As a host killed (kill -9) and started again on the same state: what
  // was not committed is lost (open batches and windows kept in memory,
  // state changes since the last commit()), and the partition is assigned
  // again. Returns the offset the next send() gets, the last commit's: send
  // the inputs from there again, as the source would. Outputs already taken
  // stay in outputs(). With `pipeline_path`, the host starts again on that
  // pipeline file (same sinks), as after an edit while it was down.
  int64_t restart(const std::string& pipeline_path = "");
  // Switches to the pipeline file `pipeline_path` (same sinks) between two
  // inputs, as a hot reload does: unchanged steps keep their instances,
  // stateful steps their state by name. Throws std::runtime_error when the
  // file is invalid or the switch is refused.
  void reload(const std::string& pipeline_path);

  // What sink `name` took, in order; throws std::out_of_range if no such sink.
  const std::vector<Output>& outputs(const std::string& sink) const;
  // The values of outputs(sink) (a null value as "").
  std::vector<std::string> values(const std::string& sink) const;
  const std::vector<RecordError>& errors() const;
  // One past the last input offset that is complete with all before it (its
  // outputs written, no batch or window holding it), or 0.
  int64_t committable() const;
  // The value of `key` in the state of step `step` (declared with `state:`),
  // as the step would read it now; nullopt when absent. Throws
  // std::out_of_range if the step keeps no state. Stateful steps keep their
  // state in memory for the driver's life.
  std::optional<std::string> state(const std::string& step, const std::string& key);
  // What the plugin of step `step` counted in its counter `name` (ABI 1.11)
  // since the driver started; 0 for a counter never made. The host keeps
  // one count a step and name for the process: drivers that run at once in
  // one process with the same step names count into each other's.
  uint64_t counter(const std::string& step, const std::string& name) const;
  // The value of step `step`'s gauge `name` (ABI 1.12) now, shared as
  // counters are; nullopt for a gauge never made.
  std::optional<double> gauge(const std::string& step, const std::string& name) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace streams::test_driver

#endif  // STREAMS_PIPELINE_DRIVER_HPP
