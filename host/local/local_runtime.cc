#include "local/local_runtime.h"

#include <fstream>
#include <iostream>
#include <vector>

#include "common/log.h"
#include "pipeline/chain.h"
#include "pipeline/error_policy.h"
#include "pipeline/local_sinks.h"

namespace streams::local {
namespace {

using Sinks = std::vector<std::unique_ptr<pipeline::OutputSink>>;

// One sink per Generation::sinks entry; Kafka sinks become line files.
bool make_sinks(const pipeline::Generation& g, const LocalOptions& options, Sinks* out) {
  std::map<std::string, std::string> unused = options.outputs;
  for (const pipeline::SinkBinding& sink : g.sinks) {
    std::string error;
    if (sink.type == config::SinkType::devnull) {
      out->push_back(std::make_unique<pipeline::DevNullSink>());
      continue;
    }
    std::string path = sink.type == config::SinkType::file ? sink.path : "-";
    if (auto it = unused.find(sink.name); it != unused.end()) {
      if (sink.type != config::SinkType::kafka) {
        log::error("--output " + sink.name + ": only Kafka sinks are redirected; '" + sink.name +
                   "' is a " + config::to_string(sink.type) + " sink");
        return false;
      }
      path = it->second;
      unused.erase(it);
    }
    auto file = pipeline::FileSink::open(path, &error);
    if (!file) {
      log::error("sink '" + sink.name + "': " + error);
      return false;
    }
    out->push_back(std::move(file));
  }
  for (const auto& [name, path] : unused) {
    log::error("--output " + name + "=" + path + ": the pipeline has no sink named '" + name + "'");
    return false;
  }
  return true;
}

}  // namespace

int run_local(std::shared_ptr<const pipeline::Generation> g, const LocalOptions& options,
              const std::atomic<bool>& stop) {
  Sinks sinks;
  if (!make_sinks(*g, options, &sinks)) return 2;
  std::vector<pipeline::OutputSink*> ptrs;
  for (auto& s : sinks) ptrs.push_back(s.get());
  std::ifstream file;
  if (options.input != "-") {
    file.open(options.input, std::ios::binary);
    if (!file) {
      log::error("cannot read input " + options.input);
      return 2;
    }
  }
  std::istream& in = options.input == "-" ? std::cin : file;
  pipeline::SkipAndLog errors;
  std::string error;
  auto chain = pipeline::Chain::create(g, ptrs, errors, &error);
  if (!chain) {
    log::error(error);
    return 1;
  }
  const std::string topic = options.input == "-" ? "stdin" : options.input;
  std::string line;
  int64_t offset = 0;
  bool ok = true;
  for (; ok && !stop.load(std::memory_order_relaxed) && std::getline(in, line); ++offset) {
    streams_record record{};
    record.struct_size = sizeof(record);
    record.value = {reinterpret_cast<const uint8_t*>(line.data()), line.size()};
    record.timestamp_ms = -1;
    const streams_origin origin{sizeof(streams_origin), topic.c_str(), 0, offset};
    ok = chain->process(record, origin, static_cast<uint64_t>(offset)) == pipeline::ChainResult::ok;
  }
  for (auto& s : sinks) ok = s->flush() && ok;
  log::info("local: " + std::to_string(offset) + " record(s) read, " +
            std::to_string(errors.skipped()) + " skipped" + (ok ? "" : "; stopped"));
  return ok ? 0 : 1;
}

}  // namespace streams::local
