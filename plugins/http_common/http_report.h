// How the HTTP-based sinks report a batch a server did not take, so that
// each treats a server's answers alike. Header-only: it uses the plugin SDK.
#pragma once

#include <streams/plugin.hpp>

#include <cstdint>
#include <string>

#include "http_batches.h"

namespace streams_http {

// The wait, in ms, a server asked for before the batch is sent again (a
// 429 or 503 with Retry-After), or -1 when it asked for none.
inline int64_t asked_delay_ms(const Response& r) {
  const bool asks = r.result == CURLE_OK && (r.status == 429 || r.status == 503);
  return asks ? r.retry_after_ms : -1;
}

// Reports batch `id` for a retry, with `why`: after `delay_ms` (see
// asked_delay_ms) when not negative, else after the host's backoff.
inline bool retry(streams::SinkReports& reports, uint64_t id, int64_t delay_ms,
                  const std::string& why) {
  return delay_ms >= 0 ? reports.retry_after(id, delay_ms, why) : reports.retry(id, why);
}

}  // namespace streams_http
