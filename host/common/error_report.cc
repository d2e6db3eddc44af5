#include "common/error_report.h"

#include <atomic>
#include <cctype>

namespace streams::report {
namespace {

std::atomic<Reporter*> g_reporter{nullptr};

unsigned char uc(char c) { return static_cast<unsigned char>(c); }

}  // namespace

void set_reporter(Reporter* r) { g_reporter.store(r, std::memory_order_release); }

void capture(const Event& event) {
  if (Reporter* r = g_reporter.load(std::memory_order_acquire)) r->capture(event);
}

void capture_line(std::string_view message,
                  std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  Reporter* r = g_reporter.load(std::memory_order_acquire);
  if (!r) return;
  const std::string issue = numbers_masked(message);
  r->capture(Event{Level::error, message, {}, {}, fields, {issue}});
}

std::string numbers_masked(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto digit = [&](size_t at) { return at < text.size() && std::isdigit(uc(text[at])); };
    const bool after_word = i > 0 && (std::isalpha(uc(text[i - 1])) || text[i - 1] == '_');
    if (!digit(i) || after_word) {
      out.push_back(text[i++]);
      continue;
    }
    while (digit(i)) ++i;
    out += "<n>";
  }
  return out;
}

}  // namespace streams::report
