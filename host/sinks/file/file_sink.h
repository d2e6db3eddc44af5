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
// Thread: the partition's processing thread.
#pragma once

#include <memory>
#include <string>

#include "config/sink_type.h"
#include "pipeline/sink.h"

namespace streams::sinks {

using pipeline::OutputSink;
using pipeline::WriteResult;

class FileSink final : public OutputSink {
 public:
  // Opens `path` for appending. On failure returns nullptr with *error.
  static std::unique_ptr<FileSink> open(const std::string& path, bool fsync, std::string* error);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  WriteResult write(const streams_record& record, uint64_t token, std::string* reason) override;
  bool flush() override;
  // Flushes, closes and opens the path again (after log rotation renamed
  // it). False (reported, and sticky) on failure.
  bool reopen() override;
  std::string describe() const override { return "file " + path_; }

 private:
  FileSink(std::string path, bool fsync) : path_(std::move(path)), fsync_(fsync) {}
  bool open_file(std::string* error);
  // Writes the buffer out; on failure cuts the file back to its last good
  // size and fails for good.
  bool drain();
  bool failed(const char* what, int error);

  std::string path_;
  bool fsync_;
  int fd_ = -1;
  bool regular_ = false;   // a regular file: fsync and truncation apply
  int64_t good_size_ = 0;  // the file ends with a whole line here
  std::string buffer_;     // lines not yet written
  bool failed_ = false;    // sticky
};

// `type: file`: keys `path` (required) and `fsync` (default true).
const config::SinkType& file_sink_type();

}  // namespace streams::sinks
