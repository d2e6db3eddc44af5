#include "common/crash_guard.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>
#include <vector>

namespace streams::crash {
namespace {

constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

char g_pipeline[256];
char g_journal_path[1024];
bool g_json = false;
int g_journal_fd = -1;

// Appends to a fixed buffer, truncating; async-signal-safe.
class Writer {
 public:
  Writer(char* buf, size_t size) : buf_(buf), size_(size) {}
  Writer& put(const char* s) {
    while (s && *s) put(*s++);
    return *this;
  }
  Writer& put(char c) {
    if (len_ < size_) buf_[len_++] = c;
    return *this;
  }
  Writer& num(int64_t v, int width = 0) {
    char digits[24];
    int n = 0;
    const bool negative = v < 0;
    uint64_t u = negative ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    do {
      digits[n++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u);
    if (negative) put('-');
    for (int i = n; i < width; ++i) put('0');
    while (n) put(digits[--n]);
    return *this;
  }
  // A name in a tab-separated journal field: tabs and newlines become '_'.
  Writer& field(const char* s) {
    while (s && *s) {
      const char c = *s++;
      put(c == '\t' || c == '\n' || c == '\r' ? '_' : c);
    }
    return *this;
  }
  // A JSON string's contents (quotes and control characters escaped).
  Writer& json(const char* s) {
    static constexpr char kHex[] = "0123456789abcdef";
    while (s && *s) {
      const auto c = static_cast<unsigned char>(*s++);
      if (c == '"' || c == '\\') {
        put('\\').put(static_cast<char>(c));
      } else if (c < 0x20) {
        put("\\u00").put(kHex[c >> 4]).put(kHex[c & 15]);
      } else {
        put(static_cast<char>(c));
      }
    }
    return *this;
  }
  size_t size() const { return len_; }

 private:
  char* buf_;
  size_t size_;
  size_t len_ = 0;
};

const char* signal_name(int sig) {
  switch (sig) {
    case 0:
      return "exit()";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGABRT:
      return "SIGABRT";
  }
  return "SIG?";
}

// "2026-11-30T18:37:58.568Z" without gmtime (not async-signal-safe): the
// civil date from days since the epoch (Howard Hinnant's algorithm).
void put_time(Writer& w, int64_t ms) {
  const int64_t secs = ms / 1000, days = secs / 86400, rem = secs % 86400;
  const int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2);
  w.num(year, 4).put('-').num(month, 2).put('-').num(day, 2).put('T');
  w.num(rem / 3600, 2).put(':').num(rem / 60 % 60, 2).put(':').num(rem % 60, 2);
  w.put('.').num(ms % 1000, 3).put('Z');
}

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n <= 0) return;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

void log_line(int sig, const InFlight& f, int64_t time_ms, bool journaled) {
  char buf[4096];
  Writer w(buf, sizeof buf - 1);
  const StepLabel* s = f.current_step();
  const streams_origin* o = f.current_origin();
  if (g_json) {
    w.put("{\"time\":\"");
    put_time(w, time_ms);
    w.put("\",\"level\":\"fatal\",\"pipeline\":\"").json(g_pipeline);
    w.put("\",\"message\":\"").put(sig ? "fatal signal " : "unexpected ").put(signal_name(sig));
    w.put(journaled ? "; recorded in the crash journal" : "").put("\",\"signal\":\"");
    w.put(signal_name(sig)).put('"');
    if (s) {
      w.put(",\"step\":\"").json(s->name).put("\",\"plugin\":\"").json(s->plugin);
      w.put("\",\"version\":\"").json(s->version).put('"');
    }
    if (o) {
      w.put(",\"topic\":\"").json(o->topic).put("\",\"partition\":\"").num(o->partition);
      w.put("\",\"offset\":\"").num(o->offset).put('"');
    }
    w.put('}');
  } else {
    put_time(w, time_ms);
    w.put(" FATAL ").put(sig ? "fatal signal " : "unexpected ").put(signal_name(sig));
    if (s) {
      w.put(" in step '").put(s->name).put('\'');
      if (*s->plugin) w.put(" (plugin ").put(s->plugin).put(' ').put(s->version).put(')');
    }
    if (o) {
      w.put(" at ").put(o->topic).put('[').num(o->partition).put("]@").num(o->offset);
    } else {
      w.put(" outside the processing of a record");
    }
    if (journaled) w.put("; recorded in the crash journal ").put(g_journal_path);
  }
  w.put('\n');
  write_all(STDERR_FILENO, buf, w.size());
}

// Logs and journals a crash (`sig` 0: an unexpected exit()).
void report(int sig) {
  const InFlight& f = in_flight();
  const int64_t time_ms = now_ms();
  char line[2048];
  const size_t n = g_journal_fd >= 0 ? journal_line(sig, f, time_ms, line, sizeof line) : 0;
  if (n > 0) write_all(g_journal_fd, line, n);
  log_line(sig, f, time_ms, n > 0);
}

std::atomic<bool> g_exit_allowed{false};

void on_exit_called() {
  if (g_exit_allowed.load()) return;
  report(0);
  _exit(70);
}

void on_fatal(int sig, siginfo_t*, void*) {
  const int saved_errno = errno;
  report(sig);
  errno = saved_errno;
  // SA_RESETHAND restored the default action: the signal, raised again (or
  // the faulting instruction, run again), ends the process as it would have.
  raise(sig);
}

void copy(char* to, size_t size, const char* from) {
  std::strncpy(to, from ? from : "", size - 1);
  to[size - 1] = '\0';
}

}  // namespace

namespace {
// The registered processing threads, in order of registration.
std::mutex g_processing_mutex;
std::vector<const InFlight*> g_processing;

// Interned texts and labels: never freed, so pointers to them stay valid.
struct Interned {
  std::mutex mutex;
  std::set<std::string, std::less<>> texts;  // node-based: c_str() stays put
  std::map<std::tuple<const char*, const char*, const char*>, StepLabel> labels;
};

Interned& interned() {
  static Interned* table = new Interned;  // never destroyed: late readers stay safe
  return *table;
}

const char* intern_locked(Interned& t, std::string_view text) {
  auto it = t.texts.find(text);
  if (it == t.texts.end()) it = t.texts.emplace(text).first;
  return it->c_str();
}
}  // namespace

const char* intern(std::string_view text) {
  Interned& t = interned();
  std::lock_guard<std::mutex> lock(t.mutex);
  return intern_locked(t, text);
}

const StepLabel* intern_label(std::string_view name, std::string_view plugin,
                              std::string_view version) {
  Interned& t = interned();
  std::lock_guard<std::mutex> lock(t.mutex);
  const StepLabel label{intern_locked(t, name), intern_locked(t, plugin),
                        intern_locked(t, version)};
  return &t.labels.try_emplace({label.name, label.plugin, label.version}, label).first->second;
}

ProcessingThread::ProcessingThread() {
  std::lock_guard<std::mutex> lock(g_processing_mutex);
  g_processing.push_back(&in_flight());
}

ProcessingThread::~ProcessingThread() {
  std::lock_guard<std::mutex> lock(g_processing_mutex);
  g_processing.erase(std::find(g_processing.begin(), g_processing.end(), &in_flight()));
}

// Under the lock: a thread leaves (and its InFlight goes) only after.
std::string describe_processing() {
  std::lock_guard<std::mutex> lock(g_processing_mutex);
  if (g_processing.size() == 1) return describe(g_processing[0]);
  std::string out;
  for (size_t i = 0; i < g_processing.size(); ++i) {
    out += (i ? "; thread " : "thread ") + std::to_string(i + 1) + ": " + describe(g_processing[i]);
  }
  return out;
}

std::string describe(const InFlight* f) {
  if (!f) return "";
  const StepLabel* s = f->current_step();
  const bool o = f->current_origin() != nullptr;  // its copied fields, not it: see InFlight
  if (!s && !o) return "between records";
  std::string out;
  if (s) {
    out = std::string("in step '") + s->name + "'";
    if (*s->plugin) out += std::string(" (plugin ") + s->plugin + " " + s->version + ")";
  }
  if (o) {
    const char* topic = f->topic.load(std::memory_order_relaxed);
    out += (out.empty() ? "at " : " at ") + std::string(topic ? topic : "") + "[" +
           std::to_string(f->partition.load(std::memory_order_relaxed)) + "]@" +
           std::to_string(f->offset.load(std::memory_order_relaxed));
  }
  return out;
}

size_t journal_line(int sig, const InFlight& f, int64_t time_ms, char* out, size_t size) {
  const streams_origin* o = f.current_origin();
  const StepLabel* s = f.current_step();
  if (!o || size == 0) return 0;
  Writer w(out, size - 1);
  w.put("crash\t").num(time_ms).put('\t').put(signal_name(sig)).put('\t');
  w.field(o->topic).put('\t').num(o->partition).put('\t').num(o->offset);
  w.put('\t').field(s ? s->name : "").put('\t');
  w.field(s ? s->plugin : "").put('\t').field(s ? s->version : "");
  const size_t n = w.size();
  out[n] = '\n';
  return n + 1;
}

void install(const Options& options) {
  copy(g_pipeline, sizeof g_pipeline, options.pipeline);
  copy(g_journal_path, sizeof g_journal_path, options.journal_path);
  g_json = options.json_log;
  g_journal_fd = options.journal_fd;
  struct sigaction sa {};
  sa.sa_sigaction = &on_fatal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (int sig : kSignals) sigaction(sig, &sa, nullptr);
}

void guard_exit() {
  static const bool armed = std::atexit(&on_exit_called) == 0;
  static_cast<void>(armed);
}

void allow_exit() { g_exit_allowed.store(true); }

void protect_this_thread() {
  // Freed when the thread ends, after the stack is unregistered.
  struct AltStack {
    std::unique_ptr<char[]> memory;
    ~AltStack() {
      if (!memory) return;
      stack_t off{};
      off.ss_flags = SS_DISABLE;
      sigaltstack(&off, nullptr);
    }
  };
  static thread_local AltStack alt;
  if (alt.memory) return;
  constexpr size_t kSize = 64 * 1024;
  alt.memory = std::make_unique<char[]>(kSize);
  stack_t ss{};
  ss.ss_sp = alt.memory.get();
  ss.ss_size = kSize;
  sigaltstack(&ss, nullptr);
}

}  // namespace streams::crash
