// Sinks that need no broker (data plane): `devnull` discards, `file` appends
// one line per output (the value, then '\n') to a path, or to stdout for
// path "-". Neither reports deliveries: an output counts as delivered once
// written, and flush() makes it durable before a commit.
//
// Thread: the partition's processing thread.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "pipeline/chain.h"

namespace streams::pipeline {

class DevNullSink final : public OutputSink {
 public:
  WriteResult write(const streams_record&, uint64_t, std::string*) override {
    return WriteResult::ok;
  }
};

class FileSink final : public OutputSink {
 public:
  // Opens `path` for appending. On failure returns nullptr with *error.
  static std::unique_ptr<FileSink> open(const std::string& path, std::string* error);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  WriteResult write(const streams_record& record, uint64_t token, std::string* reason) override;
  bool flush() override;

 private:
  FileSink(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}

  std::FILE* file_;
  std::string path_;
};

}  // namespace streams::pipeline
