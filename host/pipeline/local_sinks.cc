#include "pipeline/local_sinks.h"

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace streams::pipeline {

std::unique_ptr<FileSink> FileSink::open(const std::string& path, std::string* error) {
  std::FILE* file = path == "-" ? stdout : std::fopen(path.c_str(), "ab");
  if (!file) {
    *error = "cannot open " + path + " for appending: " + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<FileSink>(new FileSink(file, path));
}

FileSink::~FileSink() {
  if (file_ == stdout)
    std::fflush(file_);
  else
    std::fclose(file_);
}

WriteResult FileSink::write(const streams_record& record, uint64_t, std::string*) {
  const size_t size = record.value.data ? record.value.size : 0;
  if (std::fwrite(record.value.data, 1, size, file_) == size && std::fputc('\n', file_) != EOF) {
    return WriteResult::ok;
  }
  log::error("file sink " + path_ + ": write failed: " + std::strerror(errno));
  return WriteResult::stop;
}

bool FileSink::flush() {
  if (std::fflush(file_) == 0) return true;
  log::error("file sink " + path_ + ": flush failed: " + std::strerror(errno));
  return false;
}

}  // namespace streams::pipeline
