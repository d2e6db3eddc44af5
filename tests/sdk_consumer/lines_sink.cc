// A sink written outside the streams repository (plugin_sdk/README.md's
// example): appends each record's value as a line to the file named by its
// config, {"path": "..."}, and reports a batch written once the file has it
// on disk. Writing again after a retry may repeat lines: at-least-once.
#include <stdio.h>
#include <unistd.h>

#include <stdexcept>
#include <streams/plugin.hpp>
#include <string>

namespace {

// The string value of "key" in a flat JSON object (enough for this config).
std::string string_field(std::string_view json, std::string_view key) {
  const std::string quoted = "\"" + std::string(key) + "\"";
  size_t at = json.find(quoted);
  if (at == std::string_view::npos) return "";
  at = json.find('"', json.find(':', at + quoted.size()));
  const size_t end = json.find('"', at + 1);
  return at == std::string_view::npos || end == std::string_view::npos
             ? ""
             : std::string(json.substr(at + 1, end - at - 1));
}

}  // namespace

class Lines {
 public:
  static constexpr streams::SinkGuarantee guarantee = streams::SinkGuarantee::at_least_once;

  explicit Lines(const streams::InitContext& ctx) : path_(string_field(ctx.config_json(), "path")) {
    if (path_.empty()) throw std::runtime_error("config.path: required (the file to append to)");
    file_ = fopen(path_.c_str(), "a");
    if (!file_) throw std::runtime_error("cannot open " + path_);
  }
  ~Lines() { fclose(file_); }
  Lines(const Lines&) = delete;
  Lines& operator=(const Lines&) = delete;

  // Takes a batch of one source partition; reports it now (or from poll).
  void write(const streams::SinkBatch& batch, streams::SinkReports& reports) {
    for (size_t i = 0; i < batch.size(); ++i) {
      const std::string_view value = batch[i].value();
      fwrite(value.data(), 1, value.size(), file_);
      fputc('\n', file_);
    }
    if (fflush(file_) == 0 && fsync(fileno(file_)) == 0) {
      reports.written(batch.id());
    } else {
      reports.retry(batch.id(), "cannot write " + path_);
    }
  }
  // Writes are synchronous: nothing completes later.
  void poll(int /*timeout_ms*/, streams::SinkReports& /*reports*/) {}

 private:
  std::string path_;
  FILE* file_ = nullptr;
};

STREAMS_PLUGIN("lines", "0.1.0", streams::sink<Lines>("lines"))
