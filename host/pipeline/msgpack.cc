#include "pipeline/msgpack.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "common/utf8.h"

namespace streams::pipeline {
namespace {

// One pass over the input; depth-bounded recursion (kMaxNesting frames).
class Decoder {
 public:
  Decoder(std::string_view in, std::string* out) : in_(in), out_(out) {}

  bool run(std::string* error) {
    bool ok = value(0);
    if (ok && at_ != in_.size()) {
      fault_ = std::to_string(in_.size() - at_) + " byte(s) after the value";
      ok = false;
    }
    if (ok && out_->size() > kMaxConvertedBytes) {
      fault_ = "its JSON text is over " + std::to_string(kMaxConvertedBytes) + " bytes";
      ok = false;
    }
    if (!ok) *error = "not valid msgpack: " + fault_;
    return ok;
  }

 private:
  bool fail(std::string what) {
    if (fault_.empty()) fault_ = std::move(what) + " at byte " + std::to_string(at_);
    return false;
  }
  bool has(size_t n) { return in_.size() - at_ >= n || fail("truncated value"); }

  // Reads an n-byte big-endian unsigned integer (n <= 8).
  bool number(size_t n, uint64_t* v) {
    if (!has(n)) return false;
    *v = 0;
    for (size_t i = 0; i < n; ++i) *v = (*v << 8) | static_cast<uint8_t>(in_[at_ + i]);
    at_ += n;
    return true;
  }

  void unsigned_int(uint64_t v) {
    char buf[24];
    out_->append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  }
  void signed_int(int64_t v) {
    char buf[24];
    out_->append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  }
  void floating(double v) {
    if (!std::isfinite(v)) {
      out_->append("null");
      return;
    }
    char buf[32];
    char* end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    out_->append(buf, end);
    if (std::string_view(buf, end - buf).find_first_of(".e") == std::string_view::npos) {
      out_->append(".0");
    }
  }

  bool string(size_t n) {
    if (!has(n)) return false;
    const std::string_view text = in_.substr(at_, n);
    if (!is_valid_utf8(text)) return fail("a string that is not valid UTF-8");
    append_json_string(text, out_);
    at_ += n;
    return true;
  }

  bool binary(size_t n, bool ext) {
    int type = 0;
    if (ext) {
      if (!has(1)) return false;
      type = static_cast<int8_t>(in_[at_++]);
    }
    if (!has(n)) return false;
    if (n > kMaxConvertedBytes / 4) return fail("output over the size bound");
    out_->append("{\"bytes\":[");
    for (size_t i = 0; i < n; ++i) {
      if (i) out_->push_back(',');
      unsigned_int(static_cast<uint8_t>(in_[at_ + i]));
    }
    out_->append("],\"subtype\":");
    if (ext) {
      signed_int(type);
    } else {
      out_->append("null");
    }
    out_->push_back('}');
    at_ += n;
    return true;
  }

  // `depth`: the containers around this one.
  bool nest(size_t depth) {
    return depth < kMaxNesting ||
           fail("nested deeper than " + std::to_string(kMaxNesting) + " levels");
  }

  bool array(uint64_t n, size_t depth) {
    if (!nest(depth)) return false;
    out_->push_back('[');
    for (uint64_t i = 0; i < n; ++i) {
      if (i) out_->push_back(',');
      if (!value(depth + 1)) return false;
    }
    out_->push_back(']');
    return true;
  }

  bool map(uint64_t n, size_t depth) {
    if (!nest(depth)) return false;
    out_->push_back('{');
    for (uint64_t i = 0; i < n; ++i) {
      if (i) out_->push_back(',');
      if (!key() || !value(depth + 1)) return false;
    }
    out_->push_back('}');
    return true;
  }

  bool key() {
    if (!has(1)) return false;
    const auto b = static_cast<uint8_t>(in_[at_]);
    uint64_t n = 0;
    if ((b & 0xE0) == 0xA0) {
      ++at_;
      n = b & 0x1F;
    } else if (b >= 0xD9 && b <= 0xDB) {
      ++at_;
      if (!number(size_t{1} << (b - 0xD9), &n)) return false;
    } else {
      return fail("a map key that is not a string");
    }
    if (!string(n)) return false;
    out_->push_back(':');
    return true;
  }

  // `depth`: the containers around this value.
  bool value(size_t depth) {
    if (out_->size() > kMaxConvertedBytes) return fail("output over the size bound");
    if (!has(1)) return false;
    const auto b = static_cast<uint8_t>(in_[at_++]);
    uint64_t n = 0;
    if (b <= 0x7F) return unsigned_int(b), true;
    if (b >= 0xE0) return signed_int(static_cast<int8_t>(b)), true;
    if ((b & 0xF0) == 0x80) return map(b & 0x0F, depth);
    if ((b & 0xF0) == 0x90) return array(b & 0x0F, depth);
    if ((b & 0xE0) == 0xA0) return string(b & 0x1F);
    switch (b) {
      case 0xC0:
        return out_->append("null"), true;
      case 0xC2:
        return out_->append("false"), true;
      case 0xC3:
        return out_->append("true"), true;
      case 0xC4:
      case 0xC5:
      case 0xC6:
        return number(size_t{1} << (b - 0xC4), &n) && binary(n, false);
      case 0xC7:
      case 0xC8:
      case 0xC9:
        return number(size_t{1} << (b - 0xC7), &n) && binary(n, true);
      case 0xCA: {
        uint64_t bits;
        if (!number(4, &bits)) return false;
        float f;
        const auto u = static_cast<uint32_t>(bits);
        std::memcpy(&f, &u, sizeof f);
        return floating(f), true;
      }
      case 0xCB: {
        uint64_t bits;
        if (!number(8, &bits)) return false;
        double d;
        std::memcpy(&d, &bits, sizeof d);
        return floating(d), true;
      }
      case 0xCC:
      case 0xCD:
      case 0xCE:
      case 0xCF:
        if (!number(size_t{1} << (b - 0xCC), &n)) return false;
        return unsigned_int(n), true;
      case 0xD0:
      case 0xD1:
      case 0xD2:
      case 0xD3: {
        const size_t size = size_t{1} << (b - 0xD0);
        if (!number(size, &n)) return false;
        const unsigned shift = 64 - 8 * static_cast<unsigned>(size);
        return signed_int(static_cast<int64_t>(n << shift) >> shift), true;
      }
      case 0xD4:
      case 0xD5:
      case 0xD6:
      case 0xD7:
      case 0xD8:
        return binary(size_t{1} << (b - 0xD4), true);
      case 0xD9:
      case 0xDA:
      case 0xDB:
        return number(size_t{1} << (b - 0xD9), &n) && string(n);
      case 0xDC:
      case 0xDD:
        return number(size_t{2} << (b - 0xDC), &n) && array(n, depth);
      case 0xDE:
      case 0xDF:
        return number(size_t{2} << (b - 0xDE), &n) && map(n, depth);
      default:
        --at_;
        return fail("byte 0xc1, which is not a msgpack type,");
    }
  }

  std::string_view in_;
  std::string* out_;
  size_t at_ = 0;
  std::string fault_;
};

}  // namespace

void append_json_string(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t plain = 0;  // start of the run not yet copied
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(text.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default: {
        const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out->append(esc, sizeof esc);
      }
    }
  }
  out->append(text.data() + plain, text.size() - plain);
  out->push_back('"');
}

namespace msgpack {
namespace {

void put_be(uint64_t value, int bytes, std::string* out) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void put_typed(uint8_t type, uint64_t value, int bytes, std::string* out) {
  out->push_back(static_cast<char>(type));
  put_be(value, bytes, out);
}

// A header for `n` of something with a fix form below `fix_limit` (type
// fix_base | n) and 8-, 16- and 32-bit forms from `type8` (0: none).
void put_sized(uint64_t n, uint8_t fix_base, uint64_t fix_limit, uint8_t type8, uint8_t type16,
               std::string* out) {
  if (n < fix_limit) {
    out->push_back(static_cast<char>(fix_base | n));
  } else if (type8 && n < 0x100) {
    put_typed(type8, n, 1, out);
  } else if (n < 0x10000) {
    put_typed(type16, n, 2, out);
  } else {
    put_typed(type16 + 1, n, 4, out);
  }
}

}  // namespace

void put_nil(std::string* out) { out->push_back(static_cast<char>(0xc0)); }
void put_bool(bool v, std::string* out) { out->push_back(static_cast<char>(v ? 0xc3 : 0xc2)); }

void put_uint(uint64_t v, std::string* out) {
  if (v < 0x80) {
    out->push_back(static_cast<char>(v));
  } else if (v < 0x100) {
    put_typed(0xcc, v, 1, out);
  } else if (v < 0x10000) {
    put_typed(0xcd, v, 2, out);
  } else if (v < 0x100000000) {
    put_typed(0xce, v, 4, out);
  } else {
    put_typed(0xcf, v, 8, out);
  }
}

void put_int(int64_t v, std::string* out) {
  if (v >= 0) return put_uint(static_cast<uint64_t>(v), out);
  const auto bits = static_cast<uint64_t>(v);
  if (v >= -32) {
    out->push_back(static_cast<char>(v));
  } else if (v >= INT8_MIN) {
    put_typed(0xd0, bits, 1, out);
  } else if (v >= INT16_MIN) {
    put_typed(0xd1, bits, 2, out);
  } else if (v >= INT32_MIN) {
    put_typed(0xd2, bits, 4, out);
  } else {
    put_typed(0xd3, bits, 8, out);
  }
}

void put_double(double v, std::string* out) {
  const auto f = static_cast<float>(v);
  if (static_cast<double>(f) == v || (std::isnan(v) && std::isnan(f))) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    put_typed(0xca, bits, 4, out);
  } else {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    put_typed(0xcb, bits, 8, out);
  }
}

void put_str(std::string_view v, std::string* out) {
  put_sized(v.size(), 0xa0, 32, 0xd9, 0xda, out);
  out->append(v);
}

void put_bin(std::string_view v, std::string* out) {
  put_sized(v.size(), 0, 0, 0xc4, 0xc5, out);
  out->append(v);
}

void put_array_header(uint32_t count, std::string* out) {
  put_sized(count, 0x90, 16, 0, 0xdc, out);
}

void put_map_header(uint32_t count, std::string* out) { put_sized(count, 0x80, 16, 0, 0xde, out); }

void set_array32_header(uint32_t count, size_t at, std::string* out) {
  char* p = out->data() + at;
  p[0] = static_cast<char>(0xdd);
  for (int i = 0; i < 4; ++i) p[1 + i] = static_cast<char>((count >> (8 * (3 - i))) & 0xff);
}

}  // namespace msgpack

bool msgpack_to_json(std::string_view in, std::string* out, std::string* error) {
  out->clear();
  return Decoder(in, out).run(error);
}

}  // namespace streams::pipeline
