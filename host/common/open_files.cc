#include "common/open_files.h"

#include <sys/resource.h>

namespace streams {

uint64_t raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &raised);  // a refusal leaves the limit as it was
  }
  return open_files_limit();
}

uint64_t open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(limit.rlim_cur);
}

std::string open_files_hint(const std::string& error) {
  if (error.find("Too many open files") == std::string::npos) return "";
  return " (this process may open " + std::to_string(open_files_limit()) +
         " files at once and each partition of a stateful step holds about eight: raise "
         "the limit, e.g. LimitNOFILE= in the systemd unit or ulimit -Hn, or spread the "
         "partitions over more hosts)";
}

}  // namespace streams
