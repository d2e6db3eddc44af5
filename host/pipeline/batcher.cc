#include "pipeline/batcher.h"

namespace streams::pipeline {
namespace {

constexpr size_t kMsgpackHeader = 5;  // array32: 0xdd + 4-byte count

void put_be(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void put_bin(std::string& out, streams_bytes value) {
  const size_t n = value.size;
  if (n < 0x100) {
    out.push_back(static_cast<char>(0xc4));
    put_be(out, n, 1);
  } else if (n < 0x10000) {
    out.push_back(static_cast<char>(0xc5));
    put_be(out, n, 2);
  } else {
    out.push_back(static_cast<char>(0xc6));
    put_be(out, n, 4);
  }
  if (n) out.append(reinterpret_cast<const char*>(value.data), n);
}

}  // namespace

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
    if (count_ == 0) buffer_.assign(kMsgpackHeader, '\0');
    put_bin(buffer_, value);
  }
  ++count_;
  last_timestamp_ = timestamp_ms;
  return true;
}

streams_record Batcher::record() {
  if (format_ == config::Codec::json) {
    buffer_.push_back(']');
  } else {
    std::string header;
    header.push_back(static_cast<char>(0xdd));
    put_be(header, static_cast<uint64_t>(count_), 4);
    buffer_.replace(0, kMsgpackHeader, header);
  }
  streams_record out{};
  out.struct_size = sizeof(out);
  out.value = {reinterpret_cast<const uint8_t*>(buffer_.data()), buffer_.size()};
  out.timestamp_ms = last_timestamp_;
  return out;
}

void Batcher::reset() {
  buffer_.clear();
  count_ = 0;
  last_timestamp_ = -1;
}

}  // namespace streams::pipeline
