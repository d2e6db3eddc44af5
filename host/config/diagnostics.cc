#include "config/diagnostics.h"

namespace streams::config {

std::string Location::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  if (line > 0 && column > 0) out += ":" + std::to_string(column);
  if (!key.empty()) out += (out.empty() ? "" : ": ") + key;
  return out;
}

void Diagnostics::error(const Location& where, const std::string& message) {
  const std::string at = where.to_string();
  errors_.push_back(at.empty() ? message : at + ": " + message);
}

void Diagnostics::warn(const Location& where, const std::string& message) {
  const std::string at = where.to_string();
  warnings_.push_back(at.empty() ? message : at + ": " + message);
}

}  // namespace streams::config
