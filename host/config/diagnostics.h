// Configuration errors that name the file, line, key and what was expected.
// Control plane only.
#pragma once

#include <string>
#include <vector>

namespace streams::config {

// A position in a configuration file. line/column are 1-based; 0 = unknown.
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key;  // dotted path, e.g. pipeline.segments[0].steps_config.myinput.topic

  // "file:line:col: key" (parts that are unknown are left out).
  std::string to_string() const;
};

// Collects errors and warnings; loaders keep going after an error where they
// can, so `validate` reports as much as possible in one run.
class Diagnostics {
 public:
  void error(const Location& where, const std::string& message);
  void warn(const Location& where, const std::string& message);

  bool ok() const { return errors_.empty(); }
  // One line per entry: "file:line:col: key: message".
  const std::vector<std::string>& errors() const { return errors_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
};

}  // namespace streams::config
