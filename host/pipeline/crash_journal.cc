#include "pipeline/crash_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

namespace streams::pipeline {
namespace {

std::vector<std::string_view> split(std::string_view line, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t at; (at = line.find(sep, start)) != std::string_view::npos; start = at + 1) {
    parts.push_back(line.substr(start, at - start));
  }
  parts.push_back(line.substr(start));
  return parts;
}

bool to_int(std::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  char buf[24];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  char* end = nullptr;
  errno = 0;
  *out = std::strtoll(buf, &end, 10);
  return errno == 0 && *end == '\0';
}

// mkdir -p, for the journal's directory.
bool make_dirs(const std::string& dir) {
  for (size_t at = 1; at <= dir.size(); ++at) {
    if (at < dir.size() && dir[at] != '/') continue;
    const std::string part = dir.substr(0, at);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) return false;
  }
  return true;
}

// Keeps the last kMaxLines lines of `text` in `path` (written aside, then
// renamed over it).
bool cut(const std::string& path, std::string_view text, std::string* error) {
  size_t start = text.size(), lines = 0;
  while (start > 0 && lines <= CrashJournal::kMaxLines) {
    if (text[--start] == '\n') ++lines;
  }
  if (lines <= CrashJournal::kMaxLines) return true;
  const std::string aside = path + ".tmp";
  {
    std::ofstream out(aside, std::ios::binary | std::ios::trunc);
    out << text.substr(start + 1);
    if (!out.flush()) {
      *error = "cannot write " + aside;
      return false;
    }
  }
  if (std::rename(aside.c_str(), path.c_str()) != 0) {
    *error = "cannot replace " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace

std::vector<Crash> CrashJournal::parse(std::string_view text) {
  std::map<std::tuple<std::string, int32_t, int64_t>, Crash> inputs;
  for (std::string_view line : split(text, '\n')) {
    const auto f = split(line, '\t');
    int64_t partition = 0, offset = 0;
    if (f.size() != 9 || f[0] != "crash" || !to_int(f[4], &partition) || !to_int(f[5], &offset)) {
      continue;
    }
    Crash& c = inputs[{std::string(f[3]), static_cast<int32_t>(partition), offset}];
    c.topic = f[3];
    c.partition = static_cast<int32_t>(partition);
    c.offset = offset;
    ++c.count;
    c.signal = f[2];
    c.step = f[6];
    c.plugin = f[7];
    c.version = f[8];
  }
  std::vector<Crash> out;
  for (auto& entry : inputs) out.push_back(std::move(entry.second));
  return out;
}

std::unique_ptr<CrashJournal> CrashJournal::open(const std::string& path, std::string* error) {
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0 && !make_dirs(path.substr(0, slash))) {
    *error = "cannot create the directory of " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    std::stringstream all;
    all << in.rdbuf();
    text = all.str();
  }
  if (!cut(path, text, error)) return nullptr;
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = "cannot open " + path + " for writing: " + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<CrashJournal>(new CrashJournal(path, fd, parse(text)));
}

CrashJournal::~CrashJournal() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<Quarantine> CrashJournal::quarantined(std::string_view topic, int32_t partition,
                                                  uint32_t limit) const {
  std::vector<Quarantine> out;
  if (limit == 0) return out;
  for (const Crash& c : crashes_) {  // sorted by topic, partition, offset
    if (c.topic != topic || c.partition != partition || c.count < limit) continue;
    std::string where = c.step.empty() ? std::string("the host") : "step '" + c.step + "'";
    if (!c.plugin.empty()) where += " (plugin " + c.plugin + " " + c.version + ")";
    out.push_back({c.offset, c.step,
                   "the host crashed " + std::to_string(c.count) + " times (last: " + c.signal +
                       ") in " + where + " on this input; quarantined by crash_limit " +
                       std::to_string(limit)});
  }
  return out;
}

std::string group_file_path(const std::string& dir, const std::string& group, const char* suffix) {
  std::string name = group;
  for (char& c : name) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '_' || c == '-';
    if (!plain) c = '_';
  }
  if (name.empty() || name == "." || name == "..") name = "_" + name;
  return dir + "/" + name + suffix;
}

std::string crash_journal_path(const std::string& dir, const std::string& group) {
  return group_file_path(dir, group, ".crashes");
}

}  // namespace streams::pipeline
