#include "pipeline/batcher.h"
#include "common/bytes.h"

#include "pipeline/msgpack.h"

namespace streams::pipeline {

bool Batcher::add(streams_bytes value, int64_t timestamp_ms, std::string* error) {
  const char* text = reinterpret_cast<const char*>(value.data);
  if (format_ == config::Codec::json) {
    if (!value.data) {
      *error = "a json batch takes JSON values; this one is null";
      return false;
    }
    if (!json_.valid(std::string_view(text, value.size), error)) {
      error->insert(0, "a json batch takes JSON values; this one is ");
      return false;
    }
    buffer_.push_back(count_ == 0 ? '[' : ',');
    buffer_.append(text, value.size);
  } else {
    if (value.size > 0xffffffffu) {
      *error = "value too large for a msgpack batch";
      return false;
    }
    if (count_ == 0) buffer_.assign(msgpack::kArray32Size, '\0');
    msgpack::put_bin(std::string_view(text, value.size), &buffer_);
  }
  ++count_;
  last_timestamp_ = timestamp_ms;
  return true;
}

streams_record Batcher::record() {
  if (format_ == config::Codec::json) {
    buffer_.push_back(']');
  } else {
    msgpack::set_array32_header(static_cast<uint32_t>(count_), 0, &buffer_);
  }
  streams_record out{};
  out.struct_size = sizeof(out);
  out.value = bytes_of(buffer_);
  out.timestamp_ms = last_timestamp_;
  return out;
}

void Batcher::reset() {
  buffer_.clear();
  count_ = 0;
  last_timestamp_ = -1;
}

}  // namespace streams::pipeline
