#include "admin/state_request.h"

#include <cstdlib>
#include <vector>

namespace streams::admin {
namespace {

constexpr size_t kMaxLimit = 10000;

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool decode(const std::string& in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i] == '+' ? ' ' : in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::string encode(const std::string& in) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_' || c == '.' || c == '~';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == sep) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

}  // namespace

bool is_state_target(const std::string& target) {
  return target == "/state" || target.compare(0, 7, "/state/") == 0 ||
         target.compare(0, 7, "/state?") == 0;
}

bool parse_state_target(const std::string& target, pipeline::StateQuery* q, std::string* error) {
  *q = pipeline::StateQuery{};
  const size_t mark = target.find('?');
  const std::string path = target.substr(0, mark);
  const std::string query = mark == std::string::npos ? "" : target.substr(mark + 1);
  const std::vector<std::string> parts = split(path, '/');  // "", "state", STEP, PARTITION, KEY
  if (parts.size() < 4 || parts.size() > 5 || parts[2].empty() || parts[3].empty()) {
    *error = "expected /state/STEP/PARTITION/KEY or /state/STEP/PARTITION?prefix=P&limit=N";
    return false;
  }
  char* end = nullptr;
  const long partition = std::strtol(parts[3].c_str(), &end, 10);
  if (*end != '\0' || partition < 0 || partition > 1000000) {
    *error = "the partition must be a number, got '" + parts[3] + "'";
    return false;
  }
  q->partition = static_cast<int32_t>(partition);
  if (!decode(parts[2], &q->step)) {
    *error = "bad percent-encoding in the step name";
    return false;
  }
  q->scan = parts.size() == 4;
  if (!q->scan) {
    if (!query.empty()) {
      *error = "a key read takes no query string";
      return false;
    }
    if (!decode(parts[4], &q->key)) {
      *error = "bad percent-encoding in the key";
      return false;
    }
    return true;
  }
  q->key.clear();
  for (const std::string& pair : split(query, '&')) {
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string name = pair.substr(0, eq);
    std::string value;
    if (!decode(eq == std::string::npos ? "" : pair.substr(eq + 1), &value)) {
      *error = "bad percent-encoding in " + name;
      return false;
    }
    if (name == "prefix") {
      q->key = value;
    } else if (name == "limit") {
      const long limit = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || limit < 1 || static_cast<size_t>(limit) > kMaxLimit) {
        *error = "limit must be a number from 1 to 10000, got '" + value + "'";
        return false;
      }
      q->limit = static_cast<size_t>(limit);
    } else {
      *error = "unknown parameter '" + name + "' (expected prefix, limit)";
      return false;
    }
  }
  return true;
}

std::string state_target(const pipeline::StateQuery& q) {
  std::string target = "/state/" + encode(q.step) + "/" + std::to_string(q.partition);
  if (!q.scan) return target + "/" + encode(q.key);
  return target + "?prefix=" + encode(q.key) + "&limit=" + std::to_string(q.limit);
}

}  // namespace streams::admin
