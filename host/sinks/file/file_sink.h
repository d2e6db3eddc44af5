// The `file` sink (data plane): appends one line per output (the value,
// then '\n') to a path, or to stdout for path "-". It reports no
// acknowledgements: an output counts as stored once flush() made it
// durable, and a commit comes only after a flush.
//
// A file sink never lets a commit pass a byte it did not write: write errors
// (a full disk, a short write) are sticky, so flush() fails from then on and
// the inputs stay uncommitted; the lines of the write that failed are cut
// from the file (ftruncate), so no torn line is left to glue the next one
// to. A torn last line found at open (an interrupted write) is cut too.
// flush() fsyncs regular files unless `fsync` is off.
//
// Sinks that append to one path (each processing thread's sink of a step,
// or two steps naming one file) share its descriptor: each buffers its own
// whole lines and appends them one sink at a time, so lines never
// interleave, and a failed append is cut back without cutting another
// sink's lines (the failure is sticky for the path).
//
// Thread: the processing thread that made it; sinks of one path may live
// on different threads.
#pragma once

#include <memory>
#include <string>

#include "config/sink_type.h"
#include "pipeline/sink.h"

namespace streams::sinks {

using pipeline::OutputSink;
using pipeline::WriteResult;

class FileTarget;  // file_sink.cc

class FileSink final : public OutputSink {
 public:
  // Opens `path` for appending. On failure returns nullptr with *error.
  static std::unique_ptr<FileSink> open(const std::string& path, bool fsync, std::string* error);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  WriteResult write(const streams_record& record, uint64_t token, const streams_origin* origin,
                    std::string* reason) override;
  bool flush() override;
  // Flushes, closes and opens the path again (after log rotation renamed
  // it). False (reported, and sticky) on failure.
  bool reopen() override;
  std::string describe() const override { return "file " + path_; }

 private:
  FileSink(std::string path, bool fsync) : path_(std::move(path)), fsync_(fsync) {}
  // Writes the buffer out; on failure the path is cut back to its last
  // good size and this sink fails for good.
  bool drain();
  bool failed(const char* what, int error);

  std::string path_;
  bool fsync_;
  std::shared_ptr<FileTarget> target_;  // the open path, shared
  std::string buffer_;                  // lines not yet written
  bool failed_ = false;                 // sticky
};

// `type: file`: keys `path` (required) and `fsync` (default true).
const config::SinkType& file_sink_type();

}  // namespace streams::sinks
