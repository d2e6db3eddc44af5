// msgpack to JSON text, for the msgpack parser step, and the msgpack writer
// the serializer and msgpack batches use (data plane; they allocate only when
// `out` must grow).
//
// Bounded: nesting deeper than kMaxNesting levels and output longer than
// kMaxConvertedBytes are errors of the record, as are invalid UTF-8 in a
// string, a map key that is not a string, a truncated value and bytes after
// the value. Never throws.
//
// Mapping: nil, booleans, integers and strings as in JSON; floats in their
// shortest round-trip form (with ".0" when integral; NaN and infinities as
// null); bin and ext as {"bytes":[...],"subtype":null|TYPE}, the form
// nlohmann_json gives binary values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace streams::pipeline {

// Shared by every codec: how deep a parsed or serialized document may nest.
inline constexpr size_t kMaxNesting = 256;
inline constexpr size_t kMaxConvertedBytes = size_t{64} << 20;

// Replaces *out with the JSON text of the one msgpack value `in` holds, or
// returns false with *error ("not valid msgpack: ...").
bool msgpack_to_json(std::string_view in, std::string* out, std::string* error);

// Appends `text` to *out as a JSON string literal (quotes, escapes of '"',
// '\\' and control characters; other bytes as they are).
void append_json_string(std::string_view text, std::string* out);

// Append one msgpack item to *out in its smallest encoding (as nlohmann_json
// writes them: floats as float32 when that is exact).
namespace msgpack {
void put_nil(std::string* out);
void put_bool(bool v, std::string* out);
void put_uint(uint64_t v, std::string* out);
void put_int(int64_t v, std::string* out);
void put_double(double v, std::string* out);
void put_str(std::string_view v, std::string* out);
void put_bin(std::string_view v, std::string* out);
void put_array_header(uint32_t count, std::string* out);
void put_map_header(uint32_t count, std::string* out);
// array32 with `count`, at out[at .. at+5), for a count known at the end.
inline constexpr size_t kArray32Size = 5;
void set_array32_header(uint32_t count, size_t at, std::string* out);
}  // namespace msgpack

}  // namespace streams::pipeline
